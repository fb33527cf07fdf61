// The floor of the kiosk benchmarks: one window, one WebEngineView, nothing else.
// ``renew()`` destroys the view and its off-the-record profile and makes new ones loading
// ``page``; ``reload()`` reloads the current view; setting ``address`` browses it there.
// ``loads`` counts finished loads.
import QtQuick
import QtQuick.Window
import QtWebEngine

Window {
    id: root
    width: 1280
    height: 800
    visible: true
    property url page
    property int loads: 0
    property string title: ""
    property QtObject current: null
    // Set to browse the current view to another address.
    property string address: ""
    onAddressChanged: if (address !== "") current.view.url = address

    Component {
        id: sessionComponent
        Item {
            id: session
            anchors.fill: parent
            property alias view: view
            WebEngineProfilePrototype {
                id: prototype
                httpCacheType: WebEngineProfile.MemoryHttpCache
                persistentCookiesPolicy: WebEngineProfile.NoPersistentCookies
            }
            WebEngineView {
                id: view
                anchors.fill: parent
                profile: prototype.instance()
                url: root.page
                onTitleChanged: root.title = title
                // The stand-in's /plant asks for the position: no one is there to answer.
                onPermissionRequested: function(permission) { permission.deny() }
                onLoadingChanged: function(info) {
                    if (info.status === WebEngineView.LoadSucceededStatus)
                        root.loads += 1
                }
            }
        }
    }

    function renew() {
        if (current !== null)
            current.destroy()
        current = sessionComponent.createObject(root.contentItem)
    }
    function reload() { current.view.reload() }

    Component.onCompleted: renew()
}
