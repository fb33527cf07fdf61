// When nobody uses the terminal: a calm invitation to touch, greeting in each language in turn.
// Slow cross-fades only: nothing flashes or moves fast in a passer-by's eye.
import QtQuick

Rectangle {
    id: attractScreen

    required property QtObject attract
    required property QtObject prefs
    property real sizeFactor: 1
    property int index: 0
    readonly property var greeting: prefs.greetings[index]

    objectName: "attractScreen"
    visible: attract.shown
    color: prefs.theme.background

    // Any touch wakes the terminal up and shows the tiles (it is not a tile touch).
    MouseArea { anchors.fill: parent; onPressed: attractScreen.attract.dismiss() }

    Timer {
        objectName: "attractCycle"
        interval: attractScreen.attract.cycleIntervalMs
        running: attractScreen.visible
        repeat: true
        onTriggered: attractScreen.index = (attractScreen.index + 1) % attractScreen.prefs.greetings.length
    }

    Column {
        id: greetingColumn
        anchors.centerIn: parent
        width: parent.width * 0.8
        spacing: Math.round(36 * attractScreen.sizeFactor)
        opacity: 1
        Behavior on opacity { NumberAnimation { duration: 600 } }

        Text {
            objectName: "attractGreeting"
            width: parent.width
            text: attractScreen.greeting.greeting
            color: attractScreen.prefs.theme.text
            font { family: attractScreen.greeting.fontFamily; pixelSize: Math.round(96 * attractScreen.sizeFactor); bold: true }
            horizontalAlignment: Text.AlignHCenter
        }
        Text {
            objectName: "attractInvitation"
            width: parent.width
            text: attractScreen.greeting.invitation
            color: attractScreen.prefs.theme.accent
            font { family: attractScreen.greeting.fontFamily; pixelSize: Math.round(44 * attractScreen.sizeFactor) }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        // A drawn fingertip target: a ring that breathes slowly.
        Rectangle {
            anchors.horizontalCenter: parent.horizontalCenter
            width: Math.round(120 * attractScreen.sizeFactor)
            height: width
            radius: width / 2
            color: "transparent"
            border { width: Math.round(8 * attractScreen.sizeFactor); color: attractScreen.prefs.theme.accent }
            SequentialAnimation on scale {
                running: attractScreen.visible
                loops: Animation.Infinite
                NumberAnimation { from: 1; to: 1.15; duration: 1600; easing.type: Easing.InOutSine }
                NumberAnimation { from: 1.15; to: 1; duration: 1600; easing.type: Easing.InOutSine }
            }
        }
    }

    Row {
        anchors { bottom: parent.bottom; horizontalCenter: parent.horizontalCenter; bottomMargin: Math.round(40 * attractScreen.sizeFactor) }
        spacing: Math.round(16 * attractScreen.sizeFactor)
        SvgIcon {
            anchors.verticalCenter: parent.verticalCenter
            name: "padlock"
            width: Math.round(36 * attractScreen.sizeFactor)
            height: width
            color: attractScreen.prefs.theme.text
        }
        Text {
            anchors.verticalCenter: parent.verticalCenter
            text: qsTr("Free public service. Your data is erased at the end of your visit.")
            color: attractScreen.prefs.theme.text
            font { family: attractScreen.prefs.fontFamily; pixelSize: Math.round(26 * attractScreen.sizeFactor) }
        }
    }
}
