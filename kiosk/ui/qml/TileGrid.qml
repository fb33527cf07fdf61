// The cards of the home screen (or of a group's screen), laid out so that every one is whole.
// Before laying out, every card's words are measured at each possible number of columns (hidden
// Text items, the same fonts and widths as ServiceTile's); the layout chosen is the one with the
// fewest pages, then the fewest empty places, then the widest cards. When the cards cannot all
// fit on one screen (large text on a small one), they go on pages with big Previous and Next
// buttons and "Page 1 of 2": under the cards, or on both sides of them when that holds more
// cards a page. Never a scroll the resident has to guess.
import QtQuick

Item {
    id: grid

    required property var cards
    property real sizeFactor: 1
    property real textScale: 1
    property string fontFamily: "Noto Sans"
    required property var theme
    property real gap: 20
    // Page controls' size, reserved only when there is more than one page: a row under the
    // cards, or a column on each side of them.
    readonly property int controlsHeight: Math.round(84 * sizeFactor)
    readonly property int sideWidth: Math.round(150 * sizeFactor)
    readonly property int maxColumns: 5
    readonly property int minCardWidth: Math.round(220 * sizeFactor)
    // A card is never shorter than this, whatever fits (a target for unsteady or gloved hands).
    readonly property int minCardHeight: 180
    readonly property int labelSize: Math.round(26 * sizeFactor * textScale)
    readonly property int descriptionSize: Math.round(20 * sizeFactor * textScale)
    // ServiceTile's own numbers (padding, spacing, pictogram), for the measurements.
    readonly property int cardPadding: Math.round(12 * sizeFactor)
    readonly property int cardSpacing: Math.round(6 * sizeFactor)
    readonly property int pictogramSize: Math.round(56 * sizeFactor)
    readonly property real inset: gap / 2

    property var layout: ({ columns: 1, rows: 1, pages: 1, cellWidth: 0, cellHeight: 0, horizontal: false, side: false })
    property int page: 0
    readonly property int pageCount: layout.pages
    // The cards are measured and placed (the start-up benchmark waits for a frame of this).
    readonly property bool laidOut: cards.length > 0 && layout.cellHeight > 0

    signal activated(var card)

    function relayout() {
        relayoutPending = false
        layout = computeLayout()
        if (page >= layout.pages)
            page = layout.pages - 1
    }
    function showPage(p) { page = Math.max(0, Math.min(layout.pages - 1, p)) }

    // The height a card needs to show all its words in a cell of this width, its pictogram
    // above the words or beside them (ServiceTile's layout, number for number).
    function cardHeight(card, cellWidth, horizontal) {
        const inner = cellWidth - 2 * inset - 2 * cardPadding
        const chevronRoom = card.kind === "group" ? Math.round(28 * sizeFactor) + cardSpacing : 0
        const textWidth = horizontal ? inner - pictogramSize - 2 * cardSpacing - chevronRoom : inner
        measureLabel.width = textWidth
        measureLabel.text = card.label
        // A word wider than the card ("France Travail" is one, with its no-break space)
        // would stick out: this width is no place for it.
        if (measureLabel.contentWidth > textWidth + 0.5)
            return Infinity
        let words = measureLabel.implicitHeight
        for (const text of [card.description, card.note]) {
            if (text) {
                measureText.width = textWidth
                measureText.font.bold = text === card.note
                measureText.text = text
                if (measureText.contentWidth > textWidth + 0.5)
                    return Infinity
                words += cardSpacing + measureText.implicitHeight
            }
        }
        const content = horizontal ? Math.max(pictogramSize, words) : pictogramSize + cardSpacing + words
        return Math.max(minCardHeight, Math.ceil(content) + 2 * cardPadding) + 2 * inset
    }

    function computeLayout() {
        const count = cards.length
        if (count === 0 || width <= 0 || height <= 0)
            return { columns: 1, rows: 1, pages: 1, cellWidth: width, cellHeight: 0, horizontal: false, side: false }
        let best = null
        for (const side of [false, true]) {
            // Side controls take width from the cards, and only matter with several pages.
            const cardsWidth = side ? width - 2 * (sideWidth + gap) : width
            for (const horizontal of [false, true]) {
                for (let columns = Math.min(maxColumns, count); columns >= 1; --columns) {
                    const cellWidth = cardsWidth / columns
                    if (cellWidth < minCardWidth * (horizontal ? 1.5 : 1) && columns > 1)
                        continue
                    let needed = 0
                    for (const card of cards)
                        needed = Math.max(needed, cardHeight(card, cellWidth, horizontal))
                    if (!isFinite(needed))
                        continue
                    const rowsNeeded = Math.ceil(count / columns)
                    let rows = Math.floor(height / needed)
                    let pages = 1
                    let available = height
                    if (rows < rowsNeeded) {
                        if (!side)
                            available = height - controlsHeight - gap
                        rows = Math.max(1, Math.floor(available / needed))
                        pages = Math.ceil(rowsNeeded / rows)
                    } else if (side) {
                        continue  // one page: no controls, so no room kept for them
                    }
                    rows = Math.min(rows, rowsNeeded)
                    const candidate = {
                        columns: columns, rows: rows, pages: pages, cellWidth: cellWidth,
                        horizontal: horizontal, side: side, fits: needed <= available,
                        empty: pages * rows * columns - count,
                        // Cards share the height they have, within reason.
                        cellHeight: Math.max(needed, Math.min(available / rows, needed * 1.25))
                    }
                    if (best === null || better(candidate, best))
                        best = candidate
                }
            }
        }
        // Nothing fits at all (a word wider than the screen): one card a page, as wide as it gets.
        return best || { columns: 1, rows: 1, pages: count, cellWidth: width, cellHeight: height, horizontal: false, side: false }
    }
    // Whole cards first, then the fewest pages, then pictograms above the words (the usual
    // card), then the fewest empty places, then the widest cards.
    function better(a, b) {
        if (a.fits !== b.fits)
            return a.fits
        if (a.pages !== b.pages)
            return a.pages < b.pages
        if (a.horizontal !== b.horizontal)
            return !a.horizontal
        if (a.empty !== b.empty)
            return a.empty < b.empty
        return a.columns < b.columns
    }

    // Once every binding has settled: a language or text-size switch changes the cards, the
    // fonts and the room one after another, and a layout measured half-way would be wrong.
    // (Tests and screenshots wait for relayoutPending to fall before they measure.)
    property bool relayoutPending: false
    function scheduleRelayout() {
        relayoutPending = true
        Qt.callLater(relayout)
    }
    onCardsChanged: scheduleRelayout()
    onWidthChanged: scheduleRelayout()
    onHeightChanged: scheduleRelayout()
    onLabelSizeChanged: scheduleRelayout()
    onDescriptionSizeChanged: scheduleRelayout()
    onFontFamilyChanged: scheduleRelayout()
    Component.onCompleted: relayout()

    // ServiceTile's line height, for the measurements too.
    readonly property real lineHeight: fontFamily === "Noto Sans Arabic" ? 0.75 : 1
    onLineHeightChanged: scheduleRelayout()
    Text {
        id: measureLabel
        visible: false
        wrapMode: Text.WordWrap
        lineHeight: grid.lineHeight
        font { family: grid.fontFamily; pixelSize: grid.labelSize; bold: true }
    }
    Text {
        id: measureText
        visible: false
        wrapMode: Text.WordWrap
        lineHeight: grid.lineHeight
        font { family: grid.fontFamily; pixelSize: grid.descriptionSize }
    }

    Item {
        id: cardsArea
        objectName: grid.objectName + "CardsArea"
        readonly property bool paged: grid.pageCount > 1
        anchors {
            left: parent.left; right: parent.right; top: parent.top
            leftMargin: grid.layout.side ? grid.sideWidth + grid.gap : 0
            rightMargin: grid.layout.side ? grid.sideWidth + grid.gap : 0
        }
        // The rows of one page, centred in the room they leave.
        readonly property real usedHeight: grid.layout.rows * grid.layout.cellHeight
        height: paged && !grid.layout.side ? grid.height - grid.controlsHeight - grid.gap : grid.height

        Repeater {
            model: grid.cards
            delegate: ServiceTile {
                required property var modelData
                required property int index
                readonly property int perPage: grid.layout.columns * grid.layout.rows
                readonly property int onPage: Math.floor(index / perPage)
                readonly property int slot: index % perPage
                readonly property int column: slot % grid.layout.columns
                card: modelData
                visible: onPage === grid.page
                // The first card on the right in Arabic (x is not mirrored by itself).
                x: LayoutMirroring.enabled ? cardsArea.width - (column + 1) * grid.layout.cellWidth : column * grid.layout.cellWidth
                y: (cardsArea.height - cardsArea.usedHeight) / 2 + Math.floor(slot / grid.layout.columns) * grid.layout.cellHeight
                width: grid.layout.cellWidth
                height: grid.layout.cellHeight
                inset: grid.inset
                fontFamily: grid.fontFamily
                sizeFactor: grid.sizeFactor
                textScale: grid.textScale
                labelSize: grid.labelSize
                descriptionSize: grid.descriptionSize
                horizontal: grid.layout.horizontal
                theme: grid.theme
                onActivated: function (card) { grid.activated(card) }
            }
        }
    }

    // Under the cards: Previous, "Page 1 of 2", Next (a Row: mirrored in Arabic).
    Row {
        objectName: grid.objectName + "PageControls"
        visible: grid.pageCount > 1 && !grid.layout.side
        anchors { horizontalCenter: parent.horizontalCenter; bottom: parent.bottom }
        height: grid.controlsHeight
        spacing: grid.gap

        PageButton { objectName: grid.objectName + "PreviousPageButton"; forward: false }
        Text {
            objectName: grid.objectName + "PageNumber"
            anchors.verticalCenter: parent.verticalCenter
            text: grid.pageText
            color: grid.theme.text
            font { family: grid.fontFamily; pixelSize: grid.pageTextSize; bold: true }
        }
        PageButton { objectName: grid.objectName + "NextPageButton"; forward: true }
    }
    // Beside the cards: Previous on one side, Next and the page number on the other.
    Item {
        objectName: grid.objectName + "SidePageControls"
        visible: grid.pageCount > 1 && grid.layout.side
        anchors.fill: parent

        PageButton {
            objectName: grid.objectName + "SidePreviousPageButton"
            forward: false
            stacked: true
            width: grid.sideWidth
            maxLabelWidth: grid.sideWidth - 2 * padding
            anchors { left: parent.left; verticalCenter: parent.verticalCenter }
        }
        PageButton {
            id: sideNext
            objectName: grid.objectName + "SideNextPageButton"
            forward: true
            stacked: true
            width: grid.sideWidth
            maxLabelWidth: grid.sideWidth - 2 * padding
            anchors { right: parent.right; verticalCenter: parent.verticalCenter }
        }
        Text {
            objectName: grid.objectName + "SidePageNumber"
            anchors { horizontalCenter: sideNext.horizontalCenter; top: sideNext.bottom; topMargin: grid.gap }
            width: Math.min(implicitWidth, grid.sideWidth)
            text: grid.pageText
            color: grid.theme.text
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
            font { family: grid.fontFamily; pixelSize: grid.pageTextSize; bold: true }
        }
    }

    readonly property string pageText: qsTr("Page %1 of %2").arg(page + 1).arg(pageCount)
    readonly property int pageTextSize: Math.round(26 * sizeFactor * Math.min(textScale, 1.2))

    component PageButton: BarButton {
        required property bool forward
        readonly property bool possible: forward ? grid.page < grid.pageCount - 1 : grid.page > 0
        anchors.verticalCenter: parent ? parent.verticalCenter : undefined
        // The first and last pages keep the other button, dimmed, where the finger expects it.
        opacity: possible ? 1 : 0.35
        enabled: possible
        prominent: forward && possible
        text: forward ? qsTr("Next") : qsTr("Previous")
        iconName: forward ? "forward" : "back"
        iconMirrored: true
        theme: grid.theme
        sizeFactor: grid.sizeFactor
        fontFamily: grid.fontFamily
        onClicked: grid.showPage(grid.page + (forward ? 1 : -1))
    }
}
