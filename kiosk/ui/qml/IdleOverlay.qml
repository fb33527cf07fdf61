// Full screen, over everything: "Are you still there?", the seconds left in a ring that empties,
// a big "I am here", and "Finish now" beside it for the resident who is done.
import QtQuick
import QtQuick.Shapes

Rectangle {
    id: overlay

    required property QtObject browser
    required property QtObject prefs
    property real sizeFactor: 1

    signal languageRequested()

    // A touch answers the countdown before Qt delivers it (the window's event filter), which
    // would hide the overlay under the finger: it lingers a moment so its buttons get the touch.
    property bool lingering: false
    readonly property real fraction: browser.countdownTotal > 0 ? browser.secondsLeft / browser.countdownTotal : 0
    readonly property real textScale: prefs.textScale

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

    // Swallows every touch that misses the buttons: the page underneath stays untouched.
    MouseArea { anchors.fill: parent; onClicked: overlay.browser.stillHere() }

    ToolsRow {
        id: idleTools
        namePrefix: "idle"
        anchors { right: parent.right; top: parent.top; margins: Math.round(32 * overlay.sizeFactor) }
        prefs: overlay.prefs
        sizeFactor: overlay.sizeFactor
        showDisplay: false
        actOnPress: true
        onLanguageRequested: overlay.languageRequested()
    }

    Column {
        anchors { horizontalCenter: parent.horizontalCenter; top: idleTools.bottom; bottom: parent.bottom }
        width: parent.width * 0.86
        spacing: Math.round(24 * overlay.sizeFactor)

        Text {
            objectName: "idleQuestion"
            width: parent.width
            text: qsTr("Are you still there?")
            color: overlay.prefs.theme.text
            font { family: overlay.prefs.fontFamily; pixelSize: Math.round(52 * overlay.sizeFactor * overlay.textScale); bold: true }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        // The seconds left, with their unit, inside a ring that empties as they pass.
        Item {
            id: ring
            objectName: "idleRing"
            anchors.horizontalCenter: parent.horizontalCenter
            width: Math.round(220 * overlay.sizeFactor)
            height: width
            readonly property real stroke: Math.round(16 * overlay.sizeFactor)

            Shape {
                anchors.fill: parent
                preferredRendererType: Shape.CurveRenderer
                ShapePath {
                    fillColor: "transparent"
                    strokeColor: overlay.prefs.theme.surface
                    strokeWidth: ring.stroke
                    PathAngleArc {
                        centerX: ring.width / 2; centerY: ring.height / 2
                        radiusX: (ring.width - ring.stroke) / 2; radiusY: radiusX
                        startAngle: 0; sweepAngle: 360
                    }
                }
                ShapePath {
                    fillColor: "transparent"
                    strokeColor: overlay.prefs.theme.accent
                    strokeWidth: ring.stroke
                    capStyle: ShapePath.RoundCap
                    PathAngleArc {
                        centerX: ring.width / 2; centerY: ring.height / 2
                        radiusX: (ring.width - ring.stroke) / 2; radiusY: radiusX
                        startAngle: -90
                        // Counter-clockwise in Arabic, as its reading goes.
                        sweepAngle: (overlay.LayoutMirroring.enabled ? -360 : 360) * overlay.fraction
                    }
                }
            }
            Column {
                anchors.centerIn: parent
                Text {
                    objectName: "idleSecondsLeft"
                    anchors.horizontalCenter: parent.horizontalCenter
                    text: overlay.browser.secondsLeft
                    color: overlay.prefs.theme.accent
                    font { family: "Noto Sans"; pixelSize: Math.round(84 * overlay.sizeFactor); bold: true }
                }
                Text {
                    objectName: "idleSecondsUnit"
                    anchors.horizontalCenter: parent.horizontalCenter
                    width: Math.min(implicitWidth, ring.width - 2 * ring.stroke)
                    text: qsTr("second(s)", "", overlay.browser.secondsLeft)
                    color: overlay.prefs.theme.text
                    horizontalAlignment: Text.AlignHCenter
                    font { family: overlay.prefs.fontFamily; pixelSize: Math.round(24 * overlay.sizeFactor * Math.min(overlay.textScale, 1.2)) }
                }
            }
        }
        Text {
            objectName: "idleExplanation"
            width: parent.width
            text: qsTr("Without an answer, your session ends and your data is erased.")
            color: overlay.prefs.theme.text
            font { family: overlay.prefs.fontFamily; pixelSize: Math.round(28 * overlay.sizeFactor * overlay.textScale) }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        Flow {
            anchors.horizontalCenter: parent.horizontalCenter
            width: Math.min(parent.width, stillHere.width + finishNow.width + spacing)
            spacing: Math.round(32 * overlay.sizeFactor)

            BarButton {
                id: stillHere
                objectName: "stillHereButton"
                text: qsTr("I am here")
                prominent: true
                actOnPress: true
                theme: overlay.prefs.theme
                sizeFactor: overlay.sizeFactor * 1.4
                fontFamily: overlay.prefs.fontFamily
                onClicked: overlay.browser.stillHere()
            }
            BarButton {
                id: finishNow
                objectName: "finishNowButton"
                text: qsTr("Finish now")
                actOnPress: true
                theme: overlay.prefs.theme
                sizeFactor: overlay.sizeFactor * 1.4
                fontFamily: overlay.prefs.fontFamily
                onClicked: overlay.browser.finishSession()
            }
        }
    }
}
