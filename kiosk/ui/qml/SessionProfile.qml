// One session's web profile. No storage name: off the record, everything kept in memory only.
// Qt 6.9+ wants profiles made through this prototype; it owns the profile it makes.
import QtQml
import QtWebEngine

WebEngineProfilePrototype {
    property QtObject profile: null

    httpCacheType: WebEngineProfile.MemoryHttpCache
    persistentCookiesPolicy: WebEngineProfile.NoPersistentCookies
    persistentPermissionsPolicy: WebEngineProfile.AskEveryTime
    Component.onCompleted: profile = instance()
}
