// A small drawn padlock beside the privacy promise (no icon font or image file needed).
import QtQuick

Item {
    id: padlock

    property color color: "#ffffff"

    implicitWidth: 28
    implicitHeight: 34

    Rectangle {
        // The shackle: the top half of a rounded outline, its lower half hidden by the body.
        x: 5
        y: 0
        width: 18
        height: 24
        radius: 9
        color: "transparent"
        border { width: 4; color: padlock.color }
    }
    Rectangle {
        x: 0
        y: 14
        width: 28
        height: 20
        radius: 4
        color: padlock.color
    }
}
