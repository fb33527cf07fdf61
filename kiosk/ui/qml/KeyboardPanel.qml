// The on-screen keyboard, inside the kiosk's window (a second window could hide behind it under
// cage). Loaded only when Qt runs with QT_IM_MODULE=qtvirtualkeyboard.
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

InputPanel {
    id: panel

    // The resident's language: its layout first (French AZERTY by default).
    required property string language
    // Qt Virtual Keyboard's layout for each language of the kiosk.
    readonly property var layouts: ({ fr: "fr_FR", en: "en_GB", es: "es_ES", pt: "pt_PT", ar: "ar_AR", uk: "uk_UA" })
    readonly property real shownHeight: Qt.inputMethod.visible ? height : 0

    objectName: "inputPanel"
    visible: Qt.inputMethod.visible

    function applyLanguage() {
        VirtualKeyboardSettings.locale = layouts[language] || "fr_FR"
    }
    onLanguageChanged: applyLanguage()
    Component.onCompleted: {
        VirtualKeyboardSettings.activeLocales = ["fr_FR", "en_GB", "es_ES", "pt_PT", "ar_AR", "uk_UA"]
        // No word prediction: nothing typed by one resident may be suggested to the next.
        VirtualKeyboardSettings.wordCandidateList.enabled = false
        applyLanguage()
    }
}
