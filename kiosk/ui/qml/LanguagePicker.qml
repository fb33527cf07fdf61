// Full screen, over everything: each language as a big button, in its own name and script.
import QtQuick

Rectangle {
    id: picker

    required property QtObject prefs
    property real sizeFactor: 1

    signal done()

    objectName: "languagePicker"
    color: prefs.theme.background

    // Touches that miss a button do nothing to the screen underneath.
    MouseArea { anchors.fill: parent }

    Column {
        anchors.centerIn: parent
        width: Math.min(parent.width * 0.9, Math.round(1100 * picker.sizeFactor))
        spacing: Math.round(28 * picker.sizeFactor)

        Text {
            objectName: "languagePickerTitle"
            width: parent.width
            text: qsTr("Choose your language")
            color: picker.prefs.theme.text
            font { family: picker.prefs.fontFamily; pixelSize: Math.round(44 * picker.sizeFactor * picker.prefs.textScale); bold: true }
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
        }
        Grid {
            anchors.horizontalCenter: parent.horizontalCenter
            columns: 2
            spacing: Math.round(20 * picker.sizeFactor)

            Repeater {
                // Assigned once, not bound: engine.retranslate() re-evaluates every binding, and
                // a re-bound model would rebuild the buttons, including the one being touched.
                Component.onCompleted: model = picker.prefs.languages
                delegate: BarButton {
                    required property var modelData
                    objectName: "language-" + modelData.code
                    width: Math.round(440 * picker.sizeFactor)
                    height: Math.round(104 * picker.sizeFactor)
                    text: modelData.name
                    checked: picker.prefs.language === modelData.code
                    theme: picker.prefs.theme
                    sizeFactor: picker.sizeFactor
                    fontScale: 1.3
                    fontFamily: modelData.code === "ar" ? "Noto Sans Arabic" : "Noto Sans"
                    onClicked: {
                        picker.done()
                        // After the touch is handled: the switch redraws the whole scene.
                        Qt.callLater(picker.prefs.setLanguage, modelData.code)
                    }
                }
            }
        }
        BarButton {
            objectName: "languagePickerClose"
            anchors.horizontalCenter: parent.horizontalCenter
            text: qsTr("Close")
            prominent: true
            theme: picker.prefs.theme
            sizeFactor: picker.sizeFactor
            fontFamily: picker.prefs.fontFamily
            onClicked: picker.done()
        }
    }
}
