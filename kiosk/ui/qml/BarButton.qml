// A large button: a finger-sized target (2 cm or more on the 1080p terminal), a pictogram and a
// word. `stacked` puts the word under the pictogram, for the bar where width is short.
import QtQuick

Rectangle {
    id: button

    property string text: ""
    // What a screen reader says when the label is a symbol ("A+"); the text otherwise.
    property string accessibleName: button.text
    property bool prominent: false
    // A toggle that is on (high contrast, large text) looks pressed.
    property bool checked: false
    property real sizeFactor: 1
    property real fontScale: 1
    // 0: one line as wide as the label; otherwise the label wraps within this width.
    property real maxLabelWidth: 0
    property string fontFamily: "Noto Sans"
    required property var theme
    // An optional pictogram of icons.js before (or above) the label.
    property string iconName: ""
    // Pictograms that point a way are mirrored in right-to-left languages.
    property bool iconMirrored: false
    property bool stacked: false
    // On the idle countdown any touch answers "I am here" and hides the overlay at once:
    // its buttons act when pressed, or their release would land on a vanished button.
    property bool actOnPress: false
    // The touch-target test walks the scene for this marker.
    readonly property bool touchTarget: true
    readonly property bool down: tap.pressed || checked
    readonly property color labelColor: down ? theme.pressedText : (prominent ? theme.prominentText : theme.buttonText)
    readonly property int iconSize: Math.round((stacked ? 32 : 36) * sizeFactor)
    readonly property int padding: Math.round((stacked ? 12 : 20) * sizeFactor)

    signal clicked()

    implicitWidth: Math.max(Math.round(80 * sizeFactor), content.implicitWidth + 2 * padding)
    implicitHeight: Math.max(Math.round(80 * sizeFactor), content.implicitHeight + Math.round(16 * sizeFactor))
    width: implicitWidth
    height: implicitHeight
    radius: Math.round(12 * sizeFactor)
    color: down ? theme.pressed : (prominent ? theme.prominent : theme.button)
    border { width: 4; color: down ? theme.pressedBorder : (prominent ? theme.prominent : theme.buttonBorder) }
    Accessible.role: Accessible.Button
    Accessible.name: button.accessibleName
    Accessible.checkable: button.checked
    Accessible.onPressAction: button.clicked()

    Grid {
        id: content
        anchors.centerIn: parent
        columns: button.stacked ? 1 : 2
        rowSpacing: Math.round(2 * button.sizeFactor)
        columnSpacing: Math.round(10 * button.sizeFactor)
        horizontalItemAlignment: Grid.AlignHCenter
        verticalItemAlignment: Grid.AlignVCenter

        SvgIcon {
            objectName: button.objectName + "Icon"
            visible: button.iconName !== ""
            name: button.iconName
            color: button.labelColor
            mirrored: button.iconMirrored
            width: visible ? button.iconSize : 0
            height: width
        }
        Text {
            id: label
            text: button.text
            visible: text.length > 0
            width: button.maxLabelWidth > 0 ? Math.min(implicitWidth, button.maxLabelWidth) : implicitWidth
            wrapMode: Text.WordWrap
            horizontalAlignment: Text.AlignHCenter
            color: button.labelColor
            font {
                family: button.fontFamily
                pixelSize: Math.round((button.stacked ? 20 : 26) * button.sizeFactor * button.fontScale)
                bold: true
            }
        }
    }
    TapHandler {
        id: tap
        // An exclusive grab: the touch ends here, never also on a tile under an overlay.
        gesturePolicy: TapHandler.ReleaseWithinBounds
        onTapped: if (!button.actOnPress) button.clicked()
        onPressedChanged: if (pressed && button.actOnPress) button.clicked()
    }
}
