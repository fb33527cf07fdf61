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
    property real textScale: 1
    required property var theme
    // The touch-target test walks the scene for this marker.
    readonly property bool touchTarget: true

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
        // Whatever the script's line height, nothing is drawn outside the card.
        clip: true
        // Pressed feedback by colour and border, not motion: clear even on a slow panel.
        color: tap.pressed ? tile.theme.pressed : tile.theme.card
        border { width: 5; color: tap.pressed ? tile.theme.pressedBorder : tile.theme.cardBorder }

        Column {
            anchors { left: parent.left; right: parent.right; verticalCenter: parent.verticalCenter; margins: Math.round(20 * tile.sizeFactor) }
            spacing: Math.round(10 * tile.sizeFactor)

            // The pictograms are drawn for a white card: on the black high-contrast card they
            // sit on a white disc.
            Rectangle {
                id: disc
                readonly property bool shown: tile.theme.pictogramBackground !== tile.theme.card
                anchors.horizontalCenter: parent.horizontalCenter
                width: Math.round(80 * tile.sizeFactor)
                height: width
                radius: width / 2
                color: shown ? tile.theme.pictogramBackground : "transparent"

            Image {
                anchors.centerIn: parent
                width: Math.round((disc.shown ? 0.75 : 1) * disc.width)
                height: width
                source: tile.iconUrl
                sourceSize { width: 2 * width; height: 2 * height }
                fillMode: Image.PreserveAspectFit
                smooth: true
            }
            }
            Text {
                id: labelText
                width: parent.width
                text: tile.label
                color: tap.pressed ? tile.theme.pressedText : tile.theme.cardText
                font { family: tile.fontFamily; pixelSize: Math.round(28 * tile.sizeFactor * tile.textScale); bold: true }
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                maximumLineCount: 2
                elide: Text.ElideRight
            }
            Text {
                width: parent.width
                // A two-line label leaves no room for detail: the short label is enough (FALC).
                visible: text.length > 0 && labelText.lineCount < 2
                // Arabic lines are taller: one line of detail keeps the pictogram on the card.
                property int lines: LayoutMirroring.enabled ? 1 : 2
                text: tile.description
                color: tap.pressed ? tile.theme.pressedText : tile.theme.cardSubtext
                font { family: tile.fontFamily; pixelSize: Math.round(20 * tile.sizeFactor * tile.textScale) }
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                maximumLineCount: lines
                elide: Text.ElideRight
            }
        }

        TapHandler {
            id: tap
            onTapped: tile.activated(tile.tileId)
        }
    }
}
