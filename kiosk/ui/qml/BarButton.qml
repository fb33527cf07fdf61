// A large bar button: a finger-sized target with a high-contrast label.
import QtQuick

Rectangle {
    id: button

    property string text: ""
    property bool prominent: false
    property real sizeFactor: 1
    property string fontFamily: "Noto Sans"

    signal clicked()

    implicitWidth: label.implicitWidth + Math.round(48 * sizeFactor)
    implicitHeight: Math.round(72 * sizeFactor)
    width: implicitWidth
    height: implicitHeight
    radius: Math.round(12 * sizeFactor)
    color: tap.pressed ? "#fff1c2" : (prominent ? "#ffd34d" : "#ffffff")
    border { width: 4; color: tap.pressed ? "#e0a100" : color }
    Accessible.role: Accessible.Button
    Accessible.name: button.text
    Accessible.onPressAction: button.clicked()

    Text {
        id: label
        anchors.centerIn: parent
        text: button.text
        color: "#0b2440"
        font { family: button.fontFamily; pixelSize: Math.round(28 * button.sizeFactor); bold: true }
    }
    TapHandler {
        id: tap
        onTapped: button.clicked()
    }
}
