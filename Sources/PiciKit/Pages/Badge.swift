/// A repository's status badge, `DIR/<name>/badge.svg`: its newest job's state and id, for a
/// README. 20 pixels high, white on a dark colour so it reads on light and dark pages, well
/// under 1 KB.
public enum Badge {
    /// Its name in the repository's directory, beside the jobs' directories.
    public static let fileName = "badge.svg"

    /// The word and the colour for a job's status.
    public static func label(_ status: String) -> (word: String, colour: String) {
        switch status {
        case "success": return ("passing", "#1a7f37")
        case "failed": return ("failing", "#cf222e")
        case "running", "queued": return (status, "#9a6700")
        case "timeout": return ("timeout", "#bc4c00")
        default: return (status, "#57606a")
        }
    }

    /// Pixels per character of 11 px DejaVu Sans or Verdana, rounded up so no text overflows.
    static let charWidth = 7

    /// The SVG of the newest job of `name`.
    public static func svg(name: String, status: String, jobID: String) -> String {
        let (word, colour) = label(status)
        let left = "pici", right = word + " " + jobID
        let lw = left.count * charWidth + 12, rw = right.count * charWidth + 12
        let title = HTML.escape("\(name): \(word) \(jobID)")
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(lw + rw)\" height=\"20\" role=\"img\" aria-label=\"\(title)\">"
            + "<title>\(title)</title>"
            + "<rect width=\"\(lw)\" height=\"20\" fill=\"#32383f\"/>"
            + "<rect x=\"\(lw)\" width=\"\(rw)\" height=\"20\" fill=\"\(colour)\"/>"
            + "<g fill=\"#fff\" font-family=\"DejaVu Sans,Verdana,Geneva,sans-serif\" font-size=\"11\" text-anchor=\"middle\">"
            + "<text x=\"\(lw / 2)\" y=\"14\">\(left)</text>"
            + "<text x=\"\(lw + rw / 2)\" y=\"14\">\(HTML.escape(right))</text>"
            + "</g></svg>\n"
    }

    /// The newest job of each repository among `entries` (by start, then job id, as the front
    /// page orders them).
    public static func newest(_ entries: [TopIndex.Entry]) -> [String: TopIndex.Entry] {
        var out: [String: TopIndex.Entry] = [:]
        for e in entries {
            if let current = out[e.name], !TopIndex.newestFirst(e, current) { continue }
            out[e.name] = e
        }
        return out
    }
}
