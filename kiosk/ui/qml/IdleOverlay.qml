// Full screen, over everything: "Are you still there?", the seconds left, a big "I am here".
import QtQuick

Rectangle {
    id: overlay

    required property QtObject browser
    required property QtObject prefs
    property real sizeFactor: 1

    signal languageRequested()

    // A touch answers the countdown before Qt delivers it (the window's event filter), which
    // would hide the overlay under the finger: it lingers a moment so its buttons get the touch.
    property bool lingering: false

    objectName: "idleOverlay"
    visible: browser.idle || lingering

    Connections {
        target: overlay.browser
        function onIdleChanged() {
            overlay.lingering = !overlay.browser.idle && overlay.browser.sessionActive
            if (overlay.lingering)
                lingerTimer.restart()
        }
    }
    // Only the press itself needs it: the buttons here act on press.
    Timer { id: lingerTimer; interval: 50; onTriggered: overlay.lingering = false }
    color: prefs.theme.background

    // Swallows every touch that misses the button: the page underneath stays untouched.
    MouseArea { anchors.fill: parent; onClicked: overlay.browser.stillHere() }

    ToolsRow {
        namePrefix: "idle"
        anchors { right: parent.right; top: parent.top; margins: Math.round(32 * overlay.sizeFactor) }
        prefs: overlay.prefs
        sizeFactor: overlay.sizeFactor
        showDisplay: false
        actOnPress: true
        onLanguageRequested: overlay.languageRequested()
    }

    Column {
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: Math.round(32 * overlay.sizeFactor)

        Text {
            objectName: "idleQuestion"
            width: parent.width
            text: qsTr("Are you still there?")
            color: overlay.prefs.theme.text
            font { family: overlay.prefs.fontFamily; pixelSize: Math.round(56 * overlay.sizeFactor * overlay.prefs.textScale); bold: true }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        Text {
            objectName: "idleSecondsLeft"
            width: parent.width
            text: overlay.browser.secondsLeft
            color: overlay.prefs.theme.accent
            font { family: "Noto Sans"; pixelSize: Math.round(120 * overlay.sizeFactor); bold: true }
            horizontalAlignment: Text.AlignHCenter
        }
        Text {
            width: parent.width
            text: qsTr("Without an answer, your session ends and your data is erased.")
            color: overlay.prefs.theme.text
            font { family: overlay.prefs.fontFamily; pixelSize: Math.round(30 * overlay.sizeFactor * overlay.prefs.textScale) }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        BarButton {
            objectName: "stillHereButton"
            anchors.horizontalCenter: parent.horizontalCenter
            text: qsTr("I am here")
            prominent: true
            theme: overlay.prefs.theme
            sizeFactor: overlay.sizeFactor * 1.5
            fontFamily: overlay.prefs.fontFamily
            onClicked: overlay.browser.stillHere()
        }
    }
}
