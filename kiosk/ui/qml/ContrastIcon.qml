// A drawn half-filled disc: the usual sign for contrast.
import QtQuick

Item {
    id: icon
    property color color: "#0b2440"

    Rectangle { anchors.fill: parent; radius: width / 2; color: "transparent"; border { width: Math.max(2, icon.width / 12); color: icon.color } }
    Item {
        anchors { top: parent.top; bottom: parent.bottom; left: parent.left }
        width: parent.width / 2
        clip: true
        Rectangle { width: icon.width; height: icon.height; radius: width / 2; color: icon.color }
    }
}
