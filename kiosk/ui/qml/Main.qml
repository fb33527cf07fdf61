// The resident's home screen: a welcome, big service tiles ordered by need, a privacy promise.
// Colours come from kiosk/ui/theme.py (two palettes, every text at 7:1 or more); Arabic mirrors
// the whole layout; large text scales every text.
import QtQuick

Window {
    id: root

    required property var tileModel
    required property QtObject backend
    required property QtObject browser
    required property QtObject prefs
    required property QtObject speech
    required property QtObject attract
    // Full screen on the terminal: no window shortcut or compositor request closes the kiosk.
    property bool closable: true
    property bool languagePickerOpen: false

    readonly property var theme: prefs.theme
    readonly property string fontFamily: prefs.fontFamily
    readonly property real textScale: prefs.textScale
    // Sizes are designed for 1280×800 and grow with the window (×1.35 on the 1080p terminal).
    readonly property real sizeFactor: Math.max(1, Math.min(width / 1280, height / 800))
    readonly property int margin: Math.round(32 * sizeFactor)
    readonly property int gap: Math.round(20 * sizeFactor)

    width: 1280
    height: 800
    visible: false
    title: qsTr("Public services")
    color: root.theme.background
    onClosing: function (close) { close.accepted = root.closable }

    Item {
        id: scene
        objectName: "scene"
        anchors.fill: parent
        // Arabic reads right to left: anchors, rows, the grid and text alignment all follow.
        LayoutMirroring.enabled: root.prefs.rightToLeft
        LayoutMirroring.childrenInherit: true

        Item {
            id: header
            objectName: "header"
            anchors { left: parent.left; right: parent.right; top: parent.top; margins: root.margin }
            height: Math.max(welcomeColumn.implicitHeight, homeTools.height)

            Column {
                id: welcomeColumn
                anchors { left: parent.left; right: homeTools.left; rightMargin: root.gap }
                spacing: 4

                Text {
                    objectName: "welcomeText"
                    width: parent.width
                    text: qsTr("Hello!")
                    color: root.theme.text
                    font { family: root.fontFamily; pixelSize: Math.round(52 * root.sizeFactor * root.textScale); bold: true }
                    wrapMode: Text.WordWrap
                }
                Text {
                    objectName: "instructionText"
                    width: parent.width
                    text: qsTr("Touch a service to start.")
                    color: root.theme.text
                    font { family: root.fontFamily; pixelSize: Math.round(32 * root.sizeFactor * root.textScale) }
                    wrapMode: Text.WordWrap
                }
            }
            ToolsRow {
                id: homeTools
                namePrefix: "home"
                anchors { right: parent.right; top: parent.top }
                prefs: root.prefs
                sizeFactor: root.sizeFactor
                onLanguageRequested: root.languagePickerOpen = true
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

                // Four columns on the terminal's landscape screen, fewer if the window is narrow
                // or the text is large.
                readonly property int columns: Math.max(2, Math.min(4, Math.floor(width / (280 * root.sizeFactor * root.textScale))))
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
                    textScale: root.textScale
                    theme: root.theme
                    onActivated: function (tileId) { root.backend.openTile(tileId) }
                }
            }
        }

        Rectangle {
            id: footer
            objectName: "footer"
            anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
            height: Math.round(96 * root.sizeFactor)
            color: root.theme.surface

            Row {
                anchors.centerIn: parent
                visible: !root.browser.sessionActive
                spacing: Math.round(16 * root.sizeFactor)

                Padlock {
                    anchors.verticalCenter: parent.verticalCenter
                    scale: root.sizeFactor
                    color: root.theme.surfaceText
                }
                Text {
                    objectName: "privacyText"
                    anchors.verticalCenter: parent.verticalCenter
                    text: qsTr("Your data is erased at the end of your visit.")
                    color: root.theme.surfaceText
                    font { family: root.fontFamily; pixelSize: Math.round(26 * root.sizeFactor * root.textScale) }
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
            theme: root.theme
            sizeFactor: root.sizeFactor
            fontFamily: root.fontFamily
            onClicked: root.browser.finishSession()
        }

        BrowserView {
            objectName: "browserView"
            anchors.fill: parent
            visible: root.browser.browsing
            browser: root.browser
            prefs: root.prefs
            speech: root.speech
            sizeFactor: root.sizeFactor
            bottomInset: root.keyboardHeight
            onLanguageRequested: root.languagePickerOpen = true
        }

        Rectangle {
            objectName: "maxLengthWarning"
            anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
            height: Math.round(96 * root.sizeFactor)
            visible: root.browser.maxLengthWarning
            color: root.theme.warning
            Text {
                anchors.centerIn: parent
                width: parent.width - 2 * root.margin
                text: qsTr("Your session will end soon. Your data will then be erased.")
                color: root.theme.warningText
                font { family: root.fontFamily; pixelSize: Math.round(28 * root.sizeFactor * root.textScale); bold: true }
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
            }
        }

        IdleOverlay {
            anchors.fill: parent
            browser: root.browser
            prefs: root.prefs
            sizeFactor: root.sizeFactor
            onLanguageRequested: root.languagePickerOpen = true
        }

        AttractScreen {
            anchors.fill: parent
            attract: root.attract
            prefs: root.prefs
            sizeFactor: root.sizeFactor
        }

        LanguagePicker {
            anchors.fill: parent
            visible: root.languagePickerOpen
            prefs: root.prefs
            sizeFactor: root.sizeFactor
            onDone: root.languagePickerOpen = false
        }
    }

    // The on-screen keyboard, at the bottom of the window; the page above shrinks to make room,
    // so the field being typed into is never under it.
    Loader {
        id: keyboard
        objectName: "keyboardLoader"
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
        active: root.prefs.virtualKeyboard
        Component.onCompleted: if (active) setSource("KeyboardPanel.qml", { language: Qt.binding(function () { return root.prefs.language }) })
    }
    readonly property real keyboardHeight: keyboard.item ? keyboard.item.shownHeight : 0

    Connections {
        target: root.browser
        // A session that ends closes the picker too: the next resident starts on the tiles.
        function onSessionActiveChanged() {
            root.languagePickerOpen = false
            // The keyboard forgets its state (shift, symbols, a half-typed word) with the session.
            if (!root.browser.sessionActive) {
                Qt.inputMethod.reset()
                Qt.inputMethod.hide()
            }
        }
    }
}
