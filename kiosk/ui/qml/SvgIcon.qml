// One of the kiosk's SVG pictograms (icons.js) in one colour, drawn sharp at its size.
import QtQuick
import "icons.js" as Icons

Image {
    id: icon

    required property string name
    property color color: "black"
    // Pictograms that point a way (back, forward, sound) face the other way in Arabic.
    property bool mirrored: false

    source: Icons.url(icon.name, icon.color.toString())
    sourceSize { width: 2 * icon.width; height: 2 * icon.height }
    fillMode: Image.PreserveAspectFit
    mirror: icon.mirrored && LayoutMirroring.enabled
    smooth: true
}
