// A drawn globe: the sign for "language" that needs no reading (no emoji font on the terminal).
import QtQuick

Item {
    id: globe
    property color color: "#0b2440"
    readonly property real stroke: Math.max(2, width / 12)

    Rectangle { anchors.fill: parent; radius: width / 2; color: "transparent"; border { width: globe.stroke; color: globe.color } }
    Rectangle { anchors.centerIn: parent; width: parent.width * 0.45; height: parent.height; radius: width / 2; color: "transparent"; border { width: globe.stroke; color: globe.color } }
    Rectangle { anchors.centerIn: parent; width: parent.width; height: globe.stroke; color: globe.color }
}
