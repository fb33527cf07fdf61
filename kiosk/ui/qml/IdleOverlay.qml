// Full screen, over everything: "Are you still there?", the seconds left, a big "I am here".
import QtQuick

Rectangle {
    id: overlay

    required property QtObject browser
    property string fontFamily: "Noto Sans"
    property real sizeFactor: 1

    objectName: "idleOverlay"
    visible: browser.idle
    color: "#0b2440"

    // Swallows every touch that misses the button: the page underneath stays untouched.
    MouseArea { anchors.fill: parent; onClicked: overlay.browser.stillHere() }

    Column {
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: Math.round(32 * overlay.sizeFactor)

        Text {
            objectName: "idleQuestion"
            width: parent.width
            text: qsTr("Are you still there?")
            color: "#ffffff"
            font { family: overlay.fontFamily; pixelSize: Math.round(56 * overlay.sizeFactor); bold: true }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        Text {
            objectName: "idleSecondsLeft"
            width: parent.width
            text: overlay.browser.secondsLeft
            color: "#ffd34d"
            font { family: overlay.fontFamily; pixelSize: Math.round(120 * overlay.sizeFactor); bold: true }
            horizontalAlignment: Text.AlignHCenter
        }
        Text {
            width: parent.width
            text: qsTr("Without an answer, your session ends and your data is erased.")
            color: "#ffffff"
            font { family: overlay.fontFamily; pixelSize: Math.round(30 * overlay.sizeFactor) }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        BarButton {
            objectName: "stillHereButton"
            anchors.horizontalCenter: parent.horizontalCenter
            text: qsTr("I am here")
            prominent: true
            sizeFactor: overlay.sizeFactor * 1.5
            fontFamily: overlay.fontFamily
            onClicked: overlay.browser.stillHere()
        }
    }
}
