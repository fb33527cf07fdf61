// The resident's home screen: a welcome, one big card per need (a service, or a group of them
// opening its own screen), a privacy promise. Colours come from kiosk/ui/theme.py (two
// palettes, every text at 7:1 or more); Arabic mirrors the whole layout; large text scales
// every text, and the cards are laid out again so that none is ever cut (TileGrid.qml).
import QtQuick

Window {
    id: root

    required property QtObject menu
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

            // The greeting and the instruction on one line when they fit (on one baseline),
            // else one under the other. Large text grows them less than the cards': the cards
            // carry what the resident must read.
            Item {
                id: welcomeColumn
                anchors { left: parent.left; right: homeTools.left; rightMargin: root.gap; verticalCenter: parent.verticalCenter }
                readonly property real scale: Math.min(root.textScale, 1.2)
                readonly property int spacing: Math.round(16 * root.sizeFactor)
                readonly property bool oneLine: welcome.implicitWidth + spacing + instruction.implicitWidth <= width
                implicitHeight: oneLine ? Math.max(welcome.height, instruction.y + instruction.height)
                                        : welcome.height + instruction.height

                Text {
                    id: welcome
                    objectName: "welcomeText"
                    anchors { left: parent.left; top: parent.top }
                    width: Math.min(implicitWidth, welcomeColumn.width)
                    text: qsTr("Hello!")
                    color: root.theme.text
                    font { family: root.fontFamily; pixelSize: Math.round(44 * root.sizeFactor * welcomeColumn.scale); bold: true }
                    wrapMode: Text.WordWrap
                }
                Text {
                    id: instruction
                    objectName: "instructionText"
                    anchors {
                        left: welcomeColumn.oneLine ? welcome.right : parent.left
                        leftMargin: welcomeColumn.oneLine ? welcomeColumn.spacing : 0
                    }
                    // On the greeting's baseline, or under it (anchors would mirror this too,
                    // but cannot switch from baseline to top without a warning).
                    y: welcomeColumn.oneLine ? welcome.baselineOffset - baselineOffset : welcome.height
                    width: Math.min(implicitWidth, welcomeColumn.width)
                    text: qsTr("Touch a service to start.")
                    color: root.theme.text
                    font { family: root.fontFamily; pixelSize: Math.round(30 * root.sizeFactor * welcomeColumn.scale) }
                    wrapMode: Text.WordWrap
                }
            }
            ToolsRow {
                id: homeTools
                namePrefix: "home"
                // Each word under its pictogram: the greeting keeps one line beside them.
                compact: true
                anchors { right: parent.right; top: parent.top }
                prefs: root.prefs
                sizeFactor: root.sizeFactor
                onLanguageRequested: root.languagePickerOpen = true
            }
        }

        Item {
            id: homeArea
            objectName: "homeArea"
            anchors {
                left: parent.left; right: parent.right; top: header.bottom; bottom: footer.top
                leftMargin: root.margin - root.gap / 2; rightMargin: root.margin - root.gap / 2
                topMargin: root.gap / 2; bottomMargin: root.gap / 2
            }
            readonly property bool inGroup: root.menu.groupId !== ""

            // A group's screen: the way back to every service, and the group's name.
            Row {
                id: groupHeader
                objectName: "groupHeader"
                visible: homeArea.inGroup
                anchors { left: parent.left; right: parent.right; top: parent.top; leftMargin: root.gap / 2 }
                height: visible ? implicitHeight : 0
                spacing: root.gap

                BarButton {
                    id: allServices
                    objectName: "allServicesButton"
                    anchors.verticalCenter: parent.verticalCenter
                    text: qsTr("All services")
                    iconName: "services"
                    theme: root.theme
                    sizeFactor: root.sizeFactor
                    fontFamily: root.fontFamily
                    onClicked: root.menu.closeGroup()
                }
                Text {
                    objectName: "groupTitle"
                    anchors.verticalCenter: parent.verticalCenter
                    width: groupHeader.width - allServices.width - groupHeader.spacing
                    text: root.menu.groupLabel
                    color: root.theme.text
                    font { family: root.fontFamily; pixelSize: Math.round(40 * root.sizeFactor * root.textScale); bold: true }
                    wrapMode: Text.WordWrap
                }
            }

            TileGrid {
                id: homeGrid
                objectName: "homeGrid"
                visible: !homeArea.inGroup
                anchors { left: parent.left; right: parent.right; top: parent.top; bottom: parent.bottom }
                cards: root.menu.cards
                gap: root.gap
                sizeFactor: root.sizeFactor
                textScale: root.textScale
                fontFamily: root.fontFamily
                theme: root.theme
                onActivated: function (card) { root.touchCard(card) }
            }
            TileGrid {
                id: groupGrid
                objectName: "groupGrid"
                visible: homeArea.inGroup
                anchors { left: parent.left; right: parent.right; top: groupHeader.bottom; bottom: parent.bottom; topMargin: root.gap / 2 }
                cards: root.menu.groupCards
                gap: root.gap
                sizeFactor: root.sizeFactor
                textScale: root.textScale
                fontFamily: root.fontFamily
                theme: root.theme
                onActivated: function (card) { root.touchCard(card) }
            }
        }

        Rectangle {
            id: footer
            objectName: "footer"
            anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
            height: Math.max(Math.round(84 * root.sizeFactor), promise.implicitHeight + Math.round(20 * root.sizeFactor))
            color: root.theme.surface

            Row {
                id: promise
                anchors.centerIn: parent
                visible: !root.browser.sessionActive
                spacing: Math.round(16 * root.sizeFactor)

                SvgIcon {
                    anchors.verticalCenter: parent.verticalCenter
                    name: "padlock"
                    width: Math.round(36 * root.sizeFactor)
                    height: width
                    color: root.theme.surfaceText
                }
                Text {
                    objectName: "privacyText"
                    anchors.verticalCenter: parent.verticalCenter
                    width: Math.min(implicitWidth, root.width - 2 * root.margin - Math.round(60 * root.sizeFactor))
                    text: qsTr("Your data is erased at the end of your visit.")
                    color: root.theme.surfaceText
                    wrapMode: Text.WordWrap
                    horizontalAlignment: Text.AlignHCenter
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
    // so the field being typed into is never under it. Made by loadKeyboard() once the home is
    // on the screen (HomeScreen.finish_start: nothing is typed on the home screen, so its first
    // frame does not wait for Qt Virtual Keyboard), and synchronously: an InputPanel incubated in the background could be
    // completed after a field already had the focus, and then not show for it (measured: 3 of
    // 8 keyboard probes failed that way, none once made in one go).
    Loader {
        id: keyboard
        objectName: "keyboardLoader"
        anchors { left: parent.left; right: parent.right; bottom: parent.bottom }
        active: root.prefs.virtualKeyboard
    }
    function loadKeyboard() {
        if (keyboard.active && keyboard.source.toString() === "")
            keyboard.setSource("KeyboardPanel.qml", { language: Qt.binding(function () { return root.prefs.language }) })
    }
    readonly property real keyboardHeight: keyboard.item ? keyboard.item.shownHeight : 0

    // A service opens in the session's view; a group shows its own screen of services.
    function touchCard(card) {
        if (card.kind === "group") {
            groupGrid.page = 0
            root.menu.openGroup(card.cardId)
        } else {
            root.backend.openTile(card.cardId)
        }
    }

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
