// One session's web profile. No storage name: off the record, everything kept in memory only.
// Qt 6.9+ wants profiles made through this prototype; it owns the profile it makes.
import QtQml
import QtWebEngine

WebEngineProfilePrototype {
    property QtObject profile: null
    // Scripts run in every page and frame of the session, before the page's own (set by Python).
    property string lockdownScript: ""

    httpCacheType: WebEngineProfile.MemoryHttpCache
    persistentCookiesPolicy: WebEngineProfile.NoPersistentCookies
    persistentPermissionsPolicy: WebEngineProfile.AskEveryTime
    Component.onCompleted: profile = instance()

    // Called by Python once lockdownScript is set: in its own JavaScript world, so the page
    // can neither see nor undo it, and before any script of the page.
    function installLockdownScript() {
        profile.userScripts.collection = [{
            name: "kiosk-lockdown",
            sourceCode: lockdownScript,
            injectionPoint: WebEngineScript.DocumentCreation,
            worldId: WebEngineScript.ApplicationWorld,
            runsOnSubFrames: true
        }]
    }
}
