// A service's site in the session's web view, under a permanent bar: Home, Back, Listen,
// language, contrast, text size, and Finish.
// Every handler below refuses a way out of the lockdown; the verdicts come from Python.
import QtQuick
import QtWebEngine

Item {
    id: browserView

    required property QtObject browser
    required property QtObject prefs
    required property QtObject speech
    property real sizeFactor: 1
    // The on-screen keyboard's height when shown: the page ends above it.
    property real bottomInset: 0
    // The session's view, or null between sessions (for tests and screenshots).
    readonly property var webView: viewLoader.item
    // The first address of a session arrives before its view exists.
    property string pendingUrl: ""
    // Large text zooms the page as much as it scales the kiosk's own text.
    readonly property real pageZoom: browserView.prefs.textScale

    signal languageRequested()

    // The capture devices a permission request is for ("" when it is not one).
    function mediaDevicesOf(type) {
        if (type === WebEnginePermission.PermissionType.MediaVideoCapture)
            return "camera"
        if (type === WebEnginePermission.PermissionType.MediaAudioCapture)
            return "microphone"
        if (type === WebEnginePermission.PermissionType.MediaAudioVideoCapture)
            return "camera microphone"
        return ""
    }

    // Reads the selection, else the page's main text (the view trims nothing: Python does).
    function readAloud() {
        if (browserView.speech.speaking) {
            browserView.speech.stop()
            return
        }
        if (!viewLoader.item)
            return
        viewLoader.item.runJavaScript(browserView.speech.pageTextScript, function (text) {
            browserView.speech.say(typeof text === "string" ? text : "")
        })
    }

    Rectangle {
        id: bar
        objectName: "browserBar"
        anchors { left: parent.left; right: parent.right; top: parent.top }
        height: Math.round(104 * browserView.sizeFactor)
        color: browserView.prefs.theme.surface

        Row {
            id: navigation
            anchors { left: parent.left; verticalCenter: parent.verticalCenter; leftMargin: Math.round(12 * browserView.sizeFactor) }
            spacing: Math.round(10 * browserView.sizeFactor)

            BarButton {
                objectName: "homeButton"
                text: qsTr("Home")
                iconName: "home"
                stacked: true
                theme: browserView.prefs.theme
                sizeFactor: browserView.sizeFactor
                fontFamily: browserView.prefs.fontFamily
                onClicked: browserView.browser.goHome()
            }
            BarButton {
                objectName: "backButton"
                text: qsTr("Back")
                iconName: "back"
                iconMirrored: true
                stacked: true
                theme: browserView.prefs.theme
                sizeFactor: browserView.sizeFactor
                fontFamily: browserView.prefs.fontFamily
                onClicked: {
                    if (viewLoader.item && viewLoader.item.canGoBack)
                        viewLoader.item.goBack()
                    else
                        browserView.browser.goHome()
                }
            }
            BarButton {
                objectName: "readAloudButton"
                text: browserView.speech.speaking ? qsTr("Stop") : qsTr("Listen")
                accessibleName: browserView.speech.speaking ? qsTr("Stop reading") : qsTr("Read the page aloud")
                checked: browserView.speech.speaking
                iconName: "speaker"
                iconMirrored: true
                stacked: true
                theme: browserView.prefs.theme
                sizeFactor: browserView.sizeFactor
                fontFamily: browserView.prefs.fontFamily
                onClicked: browserView.readAloud()
            }
            ToolsRow {
                namePrefix: "bar"
                compact: true
                prefs: browserView.prefs
                sizeFactor: browserView.sizeFactor
                spacing: Math.round(10 * browserView.sizeFactor)
                onLanguageRequested: browserView.languageRequested()
            }
        }
        BarButton {
            objectName: "finishButton"
            anchors { right: parent.right; verticalCenter: parent.verticalCenter; rightMargin: Math.round(12 * browserView.sizeFactor) }
            // Two lines if needed, so the bar keeps room for every tool in every language.
            maxLabelWidth: Math.round(300 * browserView.sizeFactor)
            text: qsTr("Finish and erase my data")
            prominent: true
            theme: browserView.prefs.theme
            sizeFactor: browserView.sizeFactor
            fontFamily: browserView.prefs.fontFamily
            onClicked: browserView.browser.finishSession()
        }
    }

    // While a page holds the camera or the microphone, the resident sees it, and can stop it.
    Rectangle {
        id: mediaBanner
        objectName: "mediaBanner"
        anchors { left: parent.left; right: parent.right; top: bar.bottom }
        visible: browserView.browser.mediaActive
        height: visible ? Math.max(Math.round(88 * browserView.sizeFactor), mediaRow.implicitHeight + Math.round(16 * browserView.sizeFactor)) : 0
        color: browserView.prefs.theme.warning

        Row {
            id: mediaRow
            anchors.centerIn: parent
            spacing: Math.round(20 * browserView.sizeFactor)

            SvgIcon {
                anchors.verticalCenter: parent.verticalCenter
                name: browserView.browser.cameraOn ? "camera" : "microphone"
                width: Math.round(44 * browserView.sizeFactor)
                height: width
                color: browserView.prefs.theme.warningText
            }
            Text {
                objectName: "mediaBannerText"
                anchors.verticalCenter: parent.verticalCenter
                width: Math.min(implicitWidth, browserView.width - stopMedia.width - Math.round(140 * browserView.sizeFactor))
                text: browserView.browser.cameraOn ? qsTr("The camera is on for this service.") : qsTr("The microphone is on for this service.")
                color: browserView.prefs.theme.warningText
                wrapMode: Text.WordWrap
                font { family: browserView.prefs.fontFamily; pixelSize: Math.round(26 * browserView.sizeFactor * browserView.prefs.textScale); bold: true }
            }
            BarButton {
                id: stopMedia
                objectName: "stopMediaButton"
                anchors.verticalCenter: parent.verticalCenter
                text: browserView.browser.cameraOn ? qsTr("Turn off the camera") : qsTr("Turn off the microphone")
                iconName: "stop"
                theme: browserView.prefs.theme
                sizeFactor: browserView.sizeFactor
                fontFamily: browserView.prefs.fontFamily
                onClicked: browserView.browser.stopMedia()
            }
        }
    }

    Loader {
        id: viewLoader
        objectName: "viewLoader"
        anchors { left: parent.left; right: parent.right; top: mediaBanner.bottom; bottom: parent.bottom; bottomMargin: browserView.bottomInset }
        // One view per session: unloading it destroys the page before Python drops the profile.
        active: browserView.browser.sessionActive && browserView.browser.profile !== null
        sourceComponent: sessionView
    }

    // The wipe's self-check: a hidden view of the new profile is given each origin the ended
    // session used in turn (loadHtml: no request leaves the terminal); the probe document
    // counts what it finds there and announces it in its title, which Python reads.
    Loader {
        id: probeLoader
        objectName: "probeLoader"
        width: 1
        height: 1
        active: browserView.browser.probe.running && browserView.browser.profile !== null
        sourceComponent: probeView
    }

    Component {
        id: probeView

        WebEngineView {
            id: probe
            objectName: "probeView"
            visible: false
            profile: browserView.browser.profile
            settings.autoLoadIconsForPage: false
            settings.errorPageEnabled: false
            settings.focusOnNavigationEnabled: false
            settings.javascriptCanOpenWindows: false

            function probeNext() {
                const next = browserView.browser.probe
                if (next.origin !== "")
                    probe.loadHtml(next.html, next.origin)
            }
            Component.onCompleted: {
                browserView.browser.attachProbe(probe)
                probe.probeNext()
            }
            Connections {
                target: browserView.browser.probe
                function onOriginChanged() { probe.probeNext() }
            }
            onLoadingChanged: function (info) {
                if (info.status === WebEngineView.LoadFailedStatus)
                    browserView.browser.probe.failed()
            }
            onTitleChanged: browserView.browser.probe.title(probe.title)
            onJavaScriptConsoleMessage: function (level, message, lineNumber, sourceID) {}
            onNewWindowRequested: function (request) {}
            onCertificateError: function (error) {
                error.rejectCertificate()
            }
            onPermissionRequested: function (permission) {
                permission.deny()
            }
        }
    }

    Connections {
        target: browserView.browser
        function onLoadRequested(url) {
            if (viewLoader.item)
                viewLoader.item.url = url
            else
                browserView.pendingUrl = url
        }
    }

    Component {
        id: sessionView

        WebEngineView {
            id: view
            objectName: "sessionView"
            profile: browserView.browser.profile

            settings.pdfViewerEnabled: true
            settings.pluginsEnabled: true
            settings.errorPageEnabled: false
            settings.fullScreenSupportEnabled: false
            settings.javascriptCanAccessClipboard: false
            settings.javascriptCanPaste: false
            settings.localContentCanAccessFileUrls: false
            settings.localContentCanAccessRemoteUrls: false
            settings.localStorageEnabled: true
            settings.screenCaptureEnabled: false
            settings.webRTCPublicInterfacesOnly: true
            settings.allowWindowActivationFromJavaScript: false
            settings.navigateOnDropEnabled: false
            settings.dnsPrefetchEnabled: false
            settings.allowGeolocationOnInsecureOrigins: false
            settings.focusOnNavigationEnabled: true

            zoomFactor: browserView.pageZoom

            Component.onCompleted: {
                browserView.browser.attachView(view)
                if (browserView.pendingUrl !== "") {
                    view.url = browserView.pendingUrl
                    browserView.pendingUrl = ""
                }
            }

            onNavigationRequested: function (request) {
                if (!browserView.browser.allowNavigation(request.url.toString(), request.isMainFrame))
                    request.reject()
            }
            onNewWindowRequested: function (request) {
                // Never a second window: allowed popups open here, others show the refusal.
                view.url = browserView.browser.newWindowTarget(request.requestedUrl.toString())
            }
            onLoadingChanged: function (info) {
                if (info.status === WebEngineView.LoadStartedStatus) {
                    browserView.browser.pageLoadStarted()
                } else if (info.status === WebEngineView.LoadFailedStatus) {
                    const page = browserView.browser.pageForFailedLoad(info.url.toString(), info.errorDomain, info.errorCode)
                    if (page !== "")
                        view.url = page
                } else if (info.status === WebEngineView.LoadSucceededStatus) {
                    browserView.browser.pageLoaded(info.url.toString())
                }
            }
            // Console messages stay in the page: they may quote addresses or typed text.
            onJavaScriptConsoleMessage: function (level, message, lineNumber, sourceID) {}
            onCertificateError: function (error) {
                error.rejectCertificate()
            }
            onContextMenuRequested: function (request) {
                request.accepted = true
                browserView.browser.refuse("context-menu")
            }
            onFileDialogRequested: function (request) {
                request.accepted = true
                request.dialogReject()
                browserView.browser.refuse("file-picker")
            }
            onAuthenticationDialogRequested: function (request) {
                request.accepted = true
                request.dialogReject()
                browserView.browser.refuse("http-auth")
            }
            onSelectClientCertificate: function (selection) {
                selection.selectNone()
                browserView.browser.refuse("client-certificate")
            }
            onPermissionRequested: function (permission) {
                // Camera and microphone only for the origins the tile declares (Python decides,
                // and reports a refusal itself); every other permission is refused.
                const devices = browserView.mediaDevicesOf(permission.permissionType)
                if (devices !== "") {
                    if (browserView.browser.allowMedia(permission.origin.toString(), devices))
                        permission.grant()
                    else
                        permission.deny()
                    return
                }
                permission.deny()
                browserView.browser.refuse("permission")
            }
            onFullScreenRequested: function (request) {
                request.reject()
                browserView.browser.refuse("fullscreen")
            }
            onPrintRequested: browserView.browser.refuse("print")
            onRegisterProtocolHandlerRequested: function (request) {
                request.reject()
                browserView.browser.refuse("protocol-handler")
            }
            onDesktopMediaRequested: function (request) {
                request.cancel()
                browserView.browser.refuse("permission")
            }
        }
    }
}
