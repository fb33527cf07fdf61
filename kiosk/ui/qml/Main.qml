// The resident's home screen: a welcome, big service tiles ordered by need, a privacy promise.
// Colours keep text contrast at 7:1 or more (WCAG AAA), for readers outdoors, at night, in rain.
import QtQuick

Window {
    id: root

    required property var tileModel
    required property QtObject backend
    required property QtObject browser
    // Full screen on the terminal: no window shortcut or compositor request closes the kiosk.
    property bool closable: true

    readonly property string fontFamily: "Noto Sans"
    readonly property color background: "#0b2440"
    readonly property color foreground: "#ffffff"
    // Sizes are designed for 1280×800 and grow with the window (×1.35 on the 1080p terminal).
    readonly property real sizeFactor: Math.max(1, Math.min(width / 1280, height / 800))
    readonly property int margin: Math.round(32 * sizeFactor)
    readonly property int gap: Math.round(20 * sizeFactor)

    width: 1280
    height: 800
    visible: false
    title: qsTr("Public services")
    color: root.background
    onClosing: function (close) { close.accepted = root.closable }

    Item {
        id: header
        objectName: "header"
        anchors { left: parent.left; right: parent.right; top: parent.top; margins: root.margin }
        height: welcomeColumn.implicitHeight

        Column {
            id: welcomeColumn
            anchors { left: parent.left; right: parent.right }
            spacing: 4

            Text {
                objectName: "welcomeText"
                width: parent.width
                text: qsTr("Hello!")
                color: root.foreground
                font { family: root.fontFamily; pixelSize: Math.round(52 * root.sizeFactor); bold: true }
                wrapMode: Text.WordWrap
            }
            Text {
                objectName: "instructionText"
                width: parent.width
                text: qsTr("Touch a service to start.")
                color: root.foreground
                font { family: root.fontFamily; pixelSize: Math.round(32 * root.sizeFactor) }
                wrapMode: Text.WordWrap
            }
        }
    }

    Item {
        id: gridArea
        anchors {
            left: parent.left; right: parent.right; top: header.bottom; bottom: footer.top
            leftMargin: root.margin - root.gap / 2; rightMargin: root.margin - root.gap / 2
            topMargin: root.gap; bottomMargin: root.gap / 2
        }

        GridView {
            id: grid
            objectName: "tileGrid"

            // Four columns on the terminal's landscape screen, fewer if the window is narrow.
            readonly property int columns: Math.max(2, Math.min(4, Math.floor(width / (280 * root.sizeFactor))))
            readonly property int rows: Math.ceil(count / columns)

            anchors { left: parent.left; right: parent.right; verticalCenter: parent.verticalCenter }
            height: Math.min(parent.height, rows * cellHeight)
            cellWidth: width / columns
            // At least 200 px: a finger-sized target even for unsteady or gloved hands.
            cellHeight: Math.max(200, Math.min(320 * root.sizeFactor, parent.height / Math.max(1, rows)))
            clip: true
            interactive: contentHeight > height
            boundsBehavior: Flickable.StopAtBounds
            model: root.tileModel

            delegate: ServiceTile {
                width: grid.cellWidth
                height: grid.cellHeight
                inset: root.gap / 2
                fontFamily: root.fontFamily
                sizeFactor: root.sizeFactor
                onActivated: function (tileId) { root.backend.openTile(tileId) }
            }
        }
    }

    Rectangle {
        id: footer
        objectName: "footer"
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
        height: Math.round(72 * root.sizeFactor)
        color: "#061629"

        Row {
            anchors.centerIn: parent
            visible: !root.browser.sessionActive
            spacing: Math.round(16 * root.sizeFactor)

            Padlock {
                anchors.verticalCenter: parent.verticalCenter
                scale: root.sizeFactor
                color: root.foreground
            }
            Text {
                objectName: "privacyText"
                anchors.verticalCenter: parent.verticalCenter
                text: qsTr("Your data is erased at the end of your visit.")
                color: root.foreground
                font { family: root.fontFamily; pixelSize: Math.round(26 * root.sizeFactor) }
            }
        }
    }

    // During a session the home screen offers the way out too.
    BarButton {
        objectName: "homeFinishButton"
        anchors.centerIn: footer
        visible: root.browser.sessionActive
        text: qsTr("Finish and erase my data")
        prominent: true
        sizeFactor: root.sizeFactor * 0.8
        fontFamily: root.fontFamily
        onClicked: root.browser.finishSession()
    }

    BrowserView {
        objectName: "browserView"
        anchors.fill: parent
        visible: root.browser.browsing
        browser: root.browser
        fontFamily: root.fontFamily
        sizeFactor: root.sizeFactor
    }

    Rectangle {
        objectName: "maxLengthWarning"
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
        height: Math.round(72 * root.sizeFactor)
        visible: root.browser.maxLengthWarning
        color: "#ffd34d"
        Text {
            anchors.centerIn: parent
            text: qsTr("Your session will end soon. Your data will then be erased.")
            color: "#0b2440"
            font { family: root.fontFamily; pixelSize: Math.round(28 * root.sizeFactor); bold: true }
        }
    }

    IdleOverlay {
        anchors.fill: parent
        browser: root.browser
        fontFamily: root.fontFamily
        sizeFactor: root.sizeFactor
    }
}
