// One card: a service (its pictogram, name and what it is for) or a group of services (its
// need and the services inside). The whole card is the touch target. Nothing here is ever cut:
// TileGrid.qml measures every card's words at the card's width (cardHeight()) before it lays
// them out, so the texts wrap between words but are never cut nor elided.
import QtQuick

Item {
    id: tile

    required property var card
    property real inset: 10
    property string fontFamily: "Noto Sans"
    property real sizeFactor: 1
    property real textScale: 1
    required property var theme
    // The touch-target test walks the scene for this marker.
    readonly property bool touchTarget: true
    readonly property bool isGroup: card.kind === "group"
    // Shared with TileGrid's measurements: the same numbers lay out and measure a card.
    property bool horizontal: false
    readonly property int chevronSize: Math.round(28 * sizeFactor)
    readonly property int chevronRoom: chevronSize + spacing
    readonly property int padding: Math.round(12 * sizeFactor)
    readonly property int spacing: Math.round(6 * sizeFactor)
    readonly property int pictogramSize: Math.round(56 * sizeFactor)
    property int labelSize: Math.round(26 * sizeFactor * textScale)
    // Noto Sans Arabic's line spacing (2.1 em) leaves room for marks stacked three high, which
    // the kiosk's Arabic never has: its lines keep 1.6 em, still more than Noto Sans's 1.36.
    property real lineHeight: fontFamily === "Noto Sans Arabic" ? 0.75 : 1
    property int descriptionSize: Math.round(20 * sizeFactor * textScale)

    signal activated(var card)

    objectName: (isGroup ? "group-" : "tile-") + card.cardId
    Accessible.role: Accessible.Button
    Accessible.name: tile.card.label
    Accessible.description: tile.card.note !== "" ? tile.card.description + " " + tile.card.note : tile.card.description
    Accessible.onPressAction: tile.activated(tile.card)

    Rectangle {
        id: cardFrame
        objectName: tile.objectName + "-card"
        anchors { fill: parent; margins: tile.inset }
        radius: Math.round(18 * tile.sizeFactor)
        // Pressed feedback by colour and border, not motion: clear even on a slow panel.
        color: tap.pressed ? tile.theme.pressed : tile.theme.card
        border { width: 5; color: tap.pressed ? tile.theme.pressedBorder : tile.theme.cardBorder }

        // Pictogram above the words, or beside them (large text: the words get the width).
        Grid {
            id: content
            objectName: tile.objectName + "-content"
            anchors { left: parent.left; right: parent.right; verticalCenter: parent.verticalCenter; margins: tile.padding }
            columns: tile.horizontal ? 2 : 1
            columnSpacing: 2 * tile.spacing
            rowSpacing: tile.spacing
            horizontalItemAlignment: tile.horizontal ? Grid.AlignLeft : Grid.AlignHCenter
            verticalItemAlignment: Grid.AlignVCenter

            // The pictograms are drawn for a white card: on the black high-contrast card they
            // sit on a white disc.
            Rectangle {
                id: disc
                objectName: tile.objectName + "-pictogram"
                readonly property bool shown: tile.theme.pictogramBackground !== tile.theme.card
                width: tile.pictogramSize
                height: width
                radius: width / 2
                color: shown ? tile.theme.pictogramBackground : "transparent"

                Image {
                    anchors.centerIn: parent
                    width: Math.round((disc.shown ? 0.75 : 1) * disc.width)
                    height: width
                    source: tile.card.iconUrl
                    sourceSize { width: 2 * width; height: 2 * height }
                    fillMode: Image.PreserveAspectFit
                    smooth: true
                }
            }
            Column {
                // A group's chevron keeps its corner: the words stop before it.
                width: tile.horizontal ? content.width - disc.width - content.columnSpacing - (tile.isGroup ? tile.chevronRoom : 0) : content.width
                spacing: tile.spacing

                Text {
                    objectName: tile.objectName + "-label"
                    width: parent.width
                    text: tile.card.label
                    color: tap.pressed ? tile.theme.pressedText : tile.theme.cardText
                    font { family: tile.fontFamily; pixelSize: tile.labelSize; bold: true }
                    lineHeight: tile.lineHeight
                    horizontalAlignment: tile.horizontal ? Text.AlignLeft : Text.AlignHCenter
                    wrapMode: Text.WordWrap
                }
                Text {
                    objectName: tile.objectName + "-description"
                    width: parent.width
                    visible: text.length > 0
                    text: tile.card.description
                    color: tap.pressed ? tile.theme.pressedText : tile.theme.cardSubtext
                    font { family: tile.fontFamily; pixelSize: tile.descriptionSize }
                    lineHeight: tile.lineHeight
                    horizontalAlignment: tile.horizontal ? Text.AlignLeft : Text.AlignHCenter
                    wrapMode: Text.WordWrap
                }
                Text {
                    objectName: tile.objectName + "-note"
                    width: parent.width
                    visible: text.length > 0
                    text: tile.card.note
                    color: tap.pressed ? tile.theme.pressedText : tile.theme.cardText
                    font { family: tile.fontFamily; pixelSize: tile.descriptionSize; bold: true }
                    lineHeight: tile.lineHeight
                    horizontalAlignment: tile.horizontal ? Text.AlignLeft : Text.AlignHCenter
                    wrapMode: Text.WordWrap
                }
            }
        }
        // A group opens a screen of services: a chevron says there is more behind it.
        SvgIcon {
            objectName: tile.objectName + "-chevron"
            visible: tile.isGroup
            anchors { right: parent.right; top: parent.top; margins: Math.round(12 * tile.sizeFactor) }
            name: "chevron"
            mirrored: true
            width: tile.chevronSize
            height: width
            color: tap.pressed ? tile.theme.pressedText : tile.theme.cardText
        }

        TapHandler {
            id: tap
            onTapped: tile.activated(tile.card)
        }
    }
}
