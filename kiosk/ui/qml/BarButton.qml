// A large button: a finger-sized target (2 cm or more on the 1080p terminal) with a clear label.
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
    // An optional drawn pictogram before the label (a Component, so each button owns its own).
    property Component icon: null
    // On the idle countdown any touch answers "I am here" and hides the overlay at once:
    // its buttons act when pressed, or their release would land on a vanished button.
    property bool actOnPress: false
    // The touch-target test walks the scene for this marker.
    readonly property bool touchTarget: true
    readonly property bool down: tap.pressed || checked

    signal clicked()

    implicitWidth: content.implicitWidth + Math.round(40 * sizeFactor)
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

    Row {
        id: content
        anchors.centerIn: parent
        spacing: Math.round(10 * button.sizeFactor)

        Loader {
            id: iconLoader
            anchors.verticalCenter: parent.verticalCenter
            active: button.icon !== null
            sourceComponent: button.icon
            width: active ? Math.round(34 * button.sizeFactor) : 0
            height: width
            onLoaded: {
                item.anchors.fill = iconLoader
                item.color = Qt.binding(function () { return label.color })
            }
        }
        Text {
            id: label
            anchors.verticalCenter: parent.verticalCenter
            text: button.text
            visible: text.length > 0
            width: button.maxLabelWidth > 0 ? Math.min(implicitWidth, button.maxLabelWidth) : implicitWidth
            wrapMode: Text.WordWrap
            horizontalAlignment: Text.AlignHCenter
            color: button.down ? button.theme.pressedText : (button.prominent ? button.theme.prominentText : button.theme.buttonText)
            font { family: button.fontFamily; pixelSize: Math.round(26 * button.sizeFactor * button.fontScale); bold: true }
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
