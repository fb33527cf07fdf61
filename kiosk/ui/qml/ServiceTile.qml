// One service: pictogram, short label, one line of detail; the whole card is the touch target.
import QtQuick

Item {
    id: tile

    required property string tileId
    required property string label
    required property string description
    required property string iconUrl
    required property string groupLabel
    property real inset: 10
    property string fontFamily: "Noto Sans"
    property real sizeFactor: 1

    signal activated(string tileId)

    objectName: "tile-" + tileId
    Accessible.role: Accessible.Button
    Accessible.name: tile.label
    Accessible.description: tile.description
    Accessible.onPressAction: tile.activated(tile.tileId)

    Rectangle {
        id: card
        anchors { fill: parent; margins: tile.inset }
        radius: Math.round(18 * tile.sizeFactor)
        // Pressed feedback by colour and border, not motion: clear even on a slow panel.
        color: tap.pressed ? "#fff1c2" : "#ffffff"
        border { width: 5; color: tap.pressed ? "#e0a100" : "#ffffff" }

        Column {
            anchors { left: parent.left; right: parent.right; verticalCenter: parent.verticalCenter; margins: Math.round(20 * tile.sizeFactor) }
            spacing: Math.round(10 * tile.sizeFactor)

            Image {
                anchors.horizontalCenter: parent.horizontalCenter
                width: Math.round(80 * tile.sizeFactor)
                height: width
                source: tile.iconUrl
                sourceSize { width: 2 * width; height: 2 * height }
                fillMode: Image.PreserveAspectFit
                smooth: true
            }
            Text {
                width: parent.width
                text: tile.label
                color: "#0b2440"
                font { family: tile.fontFamily; pixelSize: Math.round(28 * tile.sizeFactor); bold: true }
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                maximumLineCount: 2
                elide: Text.ElideRight
            }
            Text {
                width: parent.width
                visible: text.length > 0
                text: tile.description
                color: "#2d3e50"
                font { family: tile.fontFamily; pixelSize: Math.round(20 * tile.sizeFactor) }
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                maximumLineCount: 2
                elide: Text.ElideRight
            }
        }

        TapHandler {
            id: tap
            onTapped: tile.activated(tile.tileId)
        }
    }
}
