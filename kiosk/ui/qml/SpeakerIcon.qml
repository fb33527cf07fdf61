// A drawn loudspeaker with sound waves: "read aloud", for people who do not read the label.
import QtQuick

Item {
    id: icon
    property color color: "#0b2440"
    readonly property real stroke: Math.max(2, width / 11)

    // The magnet, then the cone widening to the right (a rotated square's right half).
    Rectangle { x: 0; y: icon.height * 0.34; width: icon.width * 0.2; height: icon.height * 0.32; color: icon.color }
    Item {
        x: icon.width * 0.18; y: icon.height * 0.1; width: icon.width * 0.26; height: icon.height * 0.8
        clip: true
        Rectangle {
            x: -width / 2 - icon.width * 0.04; y: (parent.height - height) / 2
            width: parent.height * 0.7; height: width; rotation: 45; color: icon.color
        }
    }
    // Two waves: circles clipped to their right half.
    Item {
        x: icon.width * 0.5; y: 0; width: icon.width * 0.5; height: icon.height
        clip: true
        Rectangle {
            x: -width / 2; anchors.verticalCenter: parent.verticalCenter
            width: icon.width * 0.36; height: width; radius: width / 2
            color: "transparent"; border { width: icon.stroke; color: icon.color }
        }
        Rectangle {
            x: -width / 2; anchors.verticalCenter: parent.verticalCenter
            width: icon.width * 0.84; height: width; radius: width / 2
            color: "transparent"; border { width: icon.stroke; color: icon.color }
        }
    }
}
