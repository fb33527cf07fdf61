// The kiosk's pictograms, drawn as SVG (no emoji, no icon font: the terminal has neither).
// Each is a 48×48 drawing in one colour, "currentColor" here, replaced by the caller's colour;
// SvgIcon.qml turns one into an image. Those that point a way (back, forward, the speaker's
// sound) are mirrored in right-to-left languages by SvgIcon's `mirrored`.
.pragma library

const SHAPES = {
    home: '<path d="M24 5L3 23h6v20h12V31h6v12h12V23h6z" fill="currentColor"/>',
    back: '<path d="M21 9L6 24l15 15v-9h21V18H21z" fill="currentColor"/>',
    forward: '<path d="M27 9l15 15-15 15v-9H6V18h21z" fill="currentColor"/>',
    speaker: '<path d="M5 17h9l11-9v32l-11-9H5z" fill="currentColor"/>'
        + '<path d="M31 17a9 9 0 0 1 0 14M36 11a17 17 0 0 1 0 26" fill="none" stroke="currentColor"'
        + ' stroke-width="4" stroke-linecap="round"/>',
    globe: '<g fill="none" stroke="currentColor" stroke-width="3.5"><circle cx="24" cy="24" r="19"/>'
        + '<ellipse cx="24" cy="24" rx="8" ry="19"/><path d="M5 24h38M9 14h30M9 34h30"/></g>',
    contrast: '<circle cx="24" cy="24" r="19" fill="none" stroke="currentColor" stroke-width="4"/>'
        + '<path d="M24 5a19 19 0 0 0 0 38z" fill="currentColor"/>',
    padlock: '<rect x="9" y="21" width="30" height="23" rx="4" fill="currentColor"/>'
        + '<path d="M15 22v-7a9 9 0 0 1 18 0v7" fill="none" stroke="currentColor" stroke-width="5"/>',
    camera: '<rect x="3" y="13" width="29" height="23" rx="4" fill="currentColor"/>'
        + '<path d="M34 21l11-7v20l-11-7z" fill="currentColor"/>',
    microphone: '<rect x="17" y="3" width="14" height="25" rx="7" fill="currentColor"/>'
        + '<path d="M10 22a14 14 0 0 0 28 0M24 36v8M16 44h16" fill="none" stroke="currentColor"'
        + ' stroke-width="4" stroke-linecap="round"/>',
    stop: '<rect x="11" y="11" width="26" height="26" rx="3" fill="currentColor"/>',
    services: '<path d="M5 5h16v16H5zM27 5h16v16H27zM5 27h16v16H5zM27 27h16v16H27z" fill="currentColor"/>',
    chevron: '<path d="M17 9l15 15-15 15" fill="none" stroke="currentColor" stroke-width="5"'
        + ' stroke-linecap="round" stroke-linejoin="round"/>',
}

//: The names of every pictogram (the tests draw each one).
const NAMES = Object.keys(SHAPES)

function svg(name, colour) {
    const shape = SHAPES[name] || ""
    return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48">'
        + shape.replace(/currentColor/g, colour) + '</svg>'
}

function url(name, colour) {
    return "data:image/svg+xml;utf8," + encodeURIComponent(svg(name, colour))
}
