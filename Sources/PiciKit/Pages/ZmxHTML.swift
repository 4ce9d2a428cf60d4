/// zmx's `history --html` fragment, parsed and written back by pici: never trusted.
///
/// The fragment is ghostty's HTML formatter's output: `<style>:root{--vt-palette-N: #rrggbb;…}
/// </style>`, then per page of scrollback a `<div style="font-family: monospace; white-space:
/// pre;">` holding the escaped text, with `<div style="display: inline;…">` around styled runs
/// and `<a href="…">` around OSC 8 hyperlinks (the two are not always nested properly). zmx
/// escapes the text, but a hyperlink's target is whatever the build printed, and the job's
/// output is the most untrusted input pici has.
///
/// So the fragment is read into runs of text, each with a `TerminalStyle` and an optional link,
/// plus the palette; everything else is dropped (attributes, unknown CSS) or, when it is markup
/// pici does not know, kept as visible text. `html` then writes a `<pre>` from those values
/// alone through `HTML.escape`: a link survives only as `LinkTarget` allows.
public struct ZmxHTML: Equatable, Sendable {
    public struct Run: Equatable, Sendable {
        public var text: String
        public var style: TerminalStyle
        /// The link's target as the fragment gave it (decoded); checked again when written.
        public var link: String?

        public init(_ text: String, style: TerminalStyle = TerminalStyle(), link: String? = nil) {
            self.text = text
            self.style = style
            self.link = link
        }
    }

    public var palette: TerminalPalette
    public var runs: [Run]

    public init(palette: TerminalPalette = TerminalPalette(), runs: [Run] = []) {
        self.palette = palette
        self.runs = runs
    }

    public init(parsing fragment: String) {
        var copy = fragment
        self = copy.withUTF8 { ZmxHTML(parsing: $0) }
    }

    public init(parsing bytes: UnsafeBufferPointer<UInt8>) {
        self.init()
        var markup = ZmxMarkup(bytes)
        // Open divs and spans: nil for a block (zmx's wrapper), a style for an inline run.
        var open: [TerminalStyle?] = []
        var blocks = 0
        var style = TerminalStyle()
        var link: String?

        func restyle() {
            style = TerminalStyle()
            for case let s? in open { style = s.inside(style) }
        }
        func add(_ text: String) {
            // Outside zmx's wrapper only the space between its elements is found: left out.
            if blocks == 0 && text.unicodeScalars.allSatisfy({ $0.value <= 0x20 }) { return }
            append(Run(text, style: style, link: link))
        }

        while let token = markup.next() {
            switch token {
            case .text(let text):
                add(text)
            case .styleSheet(let css):
                palette.parse(styleSheet: css)
            case .start(let name, let attributes, _) where name == "div" || name == "span":
                var s = TerminalStyle()
                let css = attributes.first { $0.name == "style" }?.value ?? ""
                if s.parse(css) || name == "span" {
                    open.append(s)
                } else {
                    open.append(nil)
                    blocks += 1
                }
                restyle()
            case .end(let name, _) where name == "div" || name == "span":
                if let last = open.popLast() {
                    if last == nil { blocks -= 1 }
                    restyle()
                }
            case .start("a", let attributes, _):
                link = attributes.first { $0.name == "href" }.flatMap { LinkTarget.safe($0.value) }
            case .end("a", _):
                link = nil
            case .start("br", _, _):
                add("\n")
            case .start(_, _, let source), .end(_, let source), .other(let source):
                add(markup.source(source))
            }
        }
    }

    /// Adds `run` at the end, as part of the last run when it looks the same.
    public mutating func append(_ run: Run) {
        if let last = runs.last, last.style == run.style, last.link == run.link {
            runs[runs.count - 1].text += run.text
        } else if !run.text.isEmpty {
            runs.append(run)
        }
    }

    /// The text without styles or links.
    public var text: String { runs.map(\.text).joined() }

    /// Every link's attribute: the build's own links are not endorsed by the site (nofollow),
    /// and the page they open gets no handle on this one (noopener) nor its address.
    public static let linkRel = "nofollow noopener noreferrer"

    /// The log as pici writes it: a `<pre>` with the palette entries the build changed, each
    /// run escaped, styled runs in `<span style>`, links in `<a>` (outside the span, so the
    /// elements always nest).
    public var html: String { String(decoding: bytes, as: UTF8.self) }

    /// `html` as UTF-8, written straight into one buffer (a page is rebuilt every pass).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCountEstimate)
        write(to: &out)
        return out
    }

    /// About how many bytes `write` adds: the runs' text and a little markup each.
    var byteCountEstimate: Int { runs.reduce(64) { $0 + $1.text.utf8.count + 16 } }

    /// `bytes` appended to `out`.
    func write(to out: inout [UInt8]) {
        func put(_ s: StaticString) { out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)) }
        put("<pre")
        let changed = palette.changedCSS
        if !changed.isEmpty {
            put(" style=\"")
            HTML.append(escaping: changed, to: &out)
            put("\"")
        }
        // A newline right after <pre> is dropped by the HTML parser, so one is given to it.
        put(">\n")
        var openLink: String?, openStyle = TerminalStyle()
        for run in runs where !run.text.isEmpty {
            let link = run.link.flatMap(LinkTarget.safe)
            if link != openLink || run.style != openStyle {
                if !openStyle.isPlain { put("</span>") }
                if link != openLink {
                    if openLink != nil { put("</a>") }
                    if let link {
                        put("<a href=\"")
                        HTML.append(escaping: link, to: &out)
                        put("\" rel=\"")
                        out.append(contentsOf: ZmxHTML.linkRel.utf8)
                        put("\">")
                    }
                    openLink = link
                }
                if !run.style.isPlain {
                    put("<span style=\"")
                    HTML.append(escaping: run.style.css, to: &out)
                    put("\">")
                }
                openStyle = run.style
            }
            HTML.append(escaping: run.text, to: &out)
        }
        if !openStyle.isPlain { put("</span>") }
        if openLink != nil { put("</a>") }
        put("</pre>")
    }
}
