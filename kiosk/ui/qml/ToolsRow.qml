// The resident's own settings, on every screen: language, contrast, text size.
import QtQuick

Row {
    id: tools

    required property QtObject prefs
    property string namePrefix: ""
    property real sizeFactor: 1
    property bool showLanguage: true
    property bool showDisplay: true
    // In the browsing bar, where width is short: each word under its pictogram.
    property bool compact: false
    property bool actOnPress: false

    signal languageRequested()

    spacing: Math.round(12 * sizeFactor)

    BarButton {
        objectName: tools.namePrefix + "LanguageButton"
        visible: tools.showLanguage
        // The current language in its own name: a reader of Arabic finds "العربية", not "Arabic".
        text: tools.prefs.languageName
        accessibleName: qsTr("Language")
        actOnPress: tools.actOnPress
        iconName: "globe"
        stacked: tools.compact
        theme: tools.prefs.theme
        sizeFactor: tools.sizeFactor
        fontFamily: tools.prefs.fontFamily
        onClicked: tools.languageRequested()
    }
    BarButton {
        objectName: tools.namePrefix + "ContrastButton"
        visible: tools.showDisplay
        text: qsTr("Contrast")
        checked: tools.prefs.highContrast
        iconName: "contrast"
        stacked: tools.compact
        theme: tools.prefs.theme
        sizeFactor: tools.sizeFactor
        fontFamily: tools.prefs.fontFamily
        onClicked: tools.prefs.toggleHighContrast()
    }
    BarButton {
        objectName: tools.namePrefix + "TextSizeButton"
        visible: tools.showDisplay
        // "A+" reads the same in every script; screen readers get the words.
        text: "A+"
        accessibleName: qsTr("Larger text")
        fontScale: tools.compact ? 1.5 : 1
        checked: tools.prefs.largeText
        theme: tools.prefs.theme
        sizeFactor: tools.sizeFactor
        fontFamily: "Noto Sans"
        onClicked: tools.prefs.toggleLargeText()
    }
}
