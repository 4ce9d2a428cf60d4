/// The look every page shares: the one stylesheet each links as `styles.css` (no external
/// assets, so a copied tree works on any static host), the head and breadcrumbs of every page,
/// and the mark, word and colour class that show a status at a glance even without colour.
public enum Styles {
    /// A status's mark: a small inline SVG drawn in the text's colour. An emoji (the seed's
    /// ✅ ❌ ⏳) is an empty box where no emoji font is installed, a headless browser on a
    /// server or many a Linux desktop; an SVG draws everywhere, needs no font, and is hidden
    /// from screen readers, which read the word beside it.
    public static func mark(_ status: String) -> String {
        let shape: String
        switch status {
        case "success": shape = #"<path d="M3 8.5l3.2 3.2L13 4.8"/>"#
        case "failed": shape = #"<path d="M4.5 4.5l7 7M11.5 4.5l-7 7"/>"#
        case "running": shape = #"<circle cx="8" cy="8" r="5.5"/><path d="M8 5v3.2l2.2 1.4"/>"#
        case "queued": shape = #"<path d="M4.5 2.5h7M4.5 13.5h7M5 2.5c0 3.5 6 4 6 11M11 2.5c0 3.5-6 4-6 11"/>"#
        case "cancelled": shape = #"<circle cx="8" cy="8" r="5.5"/><path d="M4.2 11.8l7.6-7.6"/>"#
        case "timeout": shape = #"<path d="M4.5 2.5h7M4.5 13.5h7M5.5 2.5c0 3 5 3 5 5.5s-5 2.5-5 5.5M10.5 2.5c0 3-5 3-5 5.5s5 2.5 5 5.5"/>"#
        case "lost": shape = #"<path d="M5.6 5.8a2.5 2.5 0 1 1 3.4 2.4c-.6.3-1 .8-1 1.4v.6M8 12.8v.1"/>"#
        case "unreachable": shape = #"<path d="M8 2.5l6 11H2z M8 6.8v3M8 12v.1"/>"#
        default: shape = #"<circle cx="8" cy="8" r="1.5"/>"#
        }
        // The drawing attributes sit on a <g>: on <svg> itself HTML validators call them
        // proprietary.
        return #"<svg class="mark" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">"#
            + #"<g fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">"#
            + shape + "</g></svg>"
    }

    /// The CSS class for a status; only known words, so a record cannot inject a class name.
    public static func statusClass(_ status: String) -> String {
        switch status {
        case "success", "failed", "running", "queued", "cancelled", "lost", "timeout", "unreachable": return "status-" + status
        default: return "status-unknown"
        }
    }

    /// A table row marked with its status, so a failed or running row stands out.
    static func rowOpen(_ status: String) -> String {
        "<tr class=\"row-\(statusClass(status).dropFirst("status-".count))\">"
    }

    /// A table cell; `label` names the column when a phone shows the row as a card.
    static func cell(_ cls: String, _ label: String, _ content: String) -> String {
        "<td class=\"\(cls)\" data-label=\"\(label)\">\(content)</td>"
    }

    /// A status as a pill: mark and word together, coloured by class, so it reads without
    /// colour and without any particular font.
    public static func badge(_ status: String) -> String {
        "<span class=\"badge \(statusClass(status))\">\(mark(status)) \(HTML.escape(status))</span>"
    }

    /// What every page allows the browser to load or run: its own stylesheet and inline styles
    /// (zmx's colours), its own images, and nothing else: no script of any kind, no inline event
    /// handler, no `javascript:` URL, no plugin, no form, no `<base>`. The pages need no script,
    /// so if anything ever slips past `HTML.escape` or `ZmxHTML` the browser still refuses it.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"

    /// Everything up to and including `<body>`: the policy comes first, before anything it
    /// governs; the title is escaped here; a page that is still changing reloads itself every
    /// `refreshSeconds`.
    static func head(title: String, refreshSeconds: Int? = nil) -> String {
        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(HTML.escape(contentSecurityPolicy))\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<meta name=\"color-scheme\" content=\"light dark\">\n"
        if let refreshSeconds { out += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n" }
        out += "<title>\(HTML.escape(title))</title>\n"
        out += "<link rel=\"stylesheet\" href=\"styles.css\">\n</head>\n<body>\n"
        return out
    }

    /// The trail from the front page to this one. Labels are plain text; hrefs are relative
    /// links already encoded; the last item, the page itself, has none.
    static func crumbs(_ items: [(label: String, href: String?)]) -> String {
        var out = "<nav class=\"crumbs\" aria-label=\"breadcrumbs\"><ol>"
        for item in items {
            if let href = item.href {
                out += "<li><a href=\"\(href)\">\(HTML.escape(item.label))</a></li>"
            } else {
                out += "<li class=\"here\">\(HTML.escape(item.label))</li>"
            }
        }
        return out + "</ol></nav>\n"
    }

    /// One labelled value in a page's header; `value` is HTML.
    static func fact(_ label: String, _ value: String) -> String {
        "<dl><dt>\(label)</dt><dd>\(value)</dd></dl>\n"
    }

    /// The stylesheet; ends with ghostty's default palette, which a log's colours refer to.
    public static let css = cssRules + TerminalPalette.defaultRule(".log")

    static let cssRules = """
    /* pici pages: one stylesheet, no external assets. */
    :root {
      color-scheme: light dark;
      --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --link: #0969da;
      --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9;
      --run: #9a6700; --run-bg: #fff8c5; --off: #59636e; --off-bg: #eff2f5;
      --log-bg: #0d1117; --log-fg: #e6edf3; --log-line: #30363d;
      --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
    }
    @media (prefers-color-scheme: dark) {
      :root {
        --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --panel: #151b23; --link: #4493f8;
        --ok: #3fb950; --ok-bg: #12261e; --bad: #f85149; --bad-bg: #301517;
        --run: #d29922; --run-bg: #2e2412; --off: #9198a1; --off-bg: #212830;
        --log-bg: #010409; --log-line: #3d444d;
      }
    }
    *, *::before, *::after { box-sizing: border-box; }
    html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
    body {
      margin: 0 auto; max-width: 76rem; padding: 1rem clamp(.75rem, 3vw, 2rem) 2rem;
      background: var(--bg); color: var(--fg);
      font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", sans-serif;
    }
    a { color: var(--link); text-decoration: none; }
    a:hover, a:focus-visible { text-decoration: underline; }
    code, pre, kbd { font-family: var(--mono); font-size: .92em; }

    /* Header: breadcrumbs, title, facts. */
    .crumbs { font-size: .9rem; color: var(--muted); overflow-wrap: anywhere; }
    .crumbs ol { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; align-items: baseline; }
    .crumbs li + li::before { content: "/"; margin: 0 .45rem; color: var(--line); }
    .crumbs li:first-child a { font-weight: 700; color: var(--fg); }
    .crumbs li.here { color: var(--fg); }
    h1 {
      font-size: 1.5rem; line-height: 1.3; margin: .5rem 0 .75rem;
      display: flex; flex-wrap: wrap; align-items: center; gap: .35rem .7rem; overflow-wrap: anywhere;
    }
    h1 .id { color: var(--muted); font-weight: 500; font-size: .85em; }
    h1 .badge { font-size: .95rem; }
    h2 { font-size: 1.1rem; margin: 2rem 0 .6rem; display: flex; flex-wrap: wrap; align-items: baseline; gap: .3rem .75rem; overflow-wrap: anywhere; }
    h2 .count { color: var(--muted); font-size: .85rem; font-weight: normal; }
    h2 .more { margin-left: auto; font-size: .9rem; font-weight: normal; display: flex; gap: 1rem; }
    .summary { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .6rem; margin: 0; color: var(--muted); }
    .summary .total { margin-right: .3rem; }
    .facts {
      display: flex; flex-wrap: wrap; gap: .75rem 2.5rem;
      margin: .75rem 0 0; padding: .75rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: .5rem;
    }
    .facts dl { margin: 0; min-width: 0; max-width: 100%; }
    .facts dt { color: var(--muted); font-size: .72rem; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; }
    .facts dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }

    /* Status: colour, mark and word. */
    .badge {
      display: inline-flex; align-items: center; gap: .35em; padding: .05em .65em; border-radius: 999px;
      border: 1px solid var(--c, var(--off)); background: var(--c-bg, var(--off-bg)); color: var(--c, var(--off));
      font-size: .85rem; font-weight: 600; line-height: 1.6; white-space: nowrap; vertical-align: middle;
    }
    .badge .mark { width: 1em; height: 1em; flex: none; }
    .status-success { --c: var(--ok); --c-bg: var(--ok-bg); }
    .status-failed, .status-lost, .status-timeout { --c: var(--bad); --c-bg: var(--bad-bg); }
    .status-running, .status-queued, .status-unreachable { --c: var(--run); --c-bg: var(--run-bg); }
    .status-cancelled, .status-unknown { --c: var(--off); --c-bg: var(--off-bg); }

    /* Tables: a bordered panel that scrolls sideways; cards on a phone. */
    .table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: .5rem; }
    table { border-collapse: collapse; width: 100%; }
    th, td { padding: .5rem .75rem; text-align: left; vertical-align: middle; border-bottom: 1px solid var(--line); }
    tbody tr:last-child td { border-bottom: 0; }
    thead th {
      background: var(--panel); color: var(--muted); font-size: .72rem; font-weight: 600;
      text-transform: uppercase; letter-spacing: .05em; white-space: nowrap;
    }
    td { overflow-wrap: anywhere; }
    td.lead { font-weight: 600; }
    td.num, td.time { font-variant-numeric: tabular-nums; white-space: nowrap; }
    td.time { color: var(--muted); }
    table.jobs { table-layout: fixed; }
    table.jobs th:nth-child(1) { width: 20%; }
    table.jobs th:nth-child(2) { width: 18%; }
    table.jobs th:nth-child(3), table.jobs th:nth-child(5) { width: 24%; }
    tbody tr:hover { background: var(--panel); }
    tr.row-failed td:first-child, tr.row-lost td:first-child, tr.row-timeout td:first-child { box-shadow: inset 3px 0 var(--bad); }
    tr.row-running td:first-child, tr.row-unreachable td:first-child { box-shadow: inset 3px 0 var(--run); }
    .links { white-space: nowrap; }
    .links a + a { margin-left: .8rem; }
    .empty { color: var(--muted); font-style: italic; }

    /* The log: zmx's scrollback, a terminal's colours on a terminal's background. */
    .log {
      overflow-x: auto; background: var(--log-bg); color: var(--log-fg); border: 1px solid var(--log-line);
      border-radius: .5rem; padding: .75rem 1rem; font: 13px/1.5 var(--mono); tab-size: 8;
    }
    .log pre { margin: 0; font: inherit; white-space: pre; }
    .log a { color: inherit; text-decoration: underline; }
    .log::selection, .log *::selection { background: #264f78; color: #ffffff; }

    footer {
      margin-top: 2.5rem; padding-top: .75rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem;
      display: flex; flex-wrap: wrap; gap: .4rem 1.2rem;
    }

    @media (max-width: 40rem) {
      body { font-size: 16px; }
      h1 { font-size: 1.3rem; }
      .facts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .6rem 1rem; padding: .65rem .8rem; }
      .facts dd { font-size: .9rem; }
      .facts dl.wide { grid-column: 1 / -1; }
      .table-wrap { overflow: visible; border: 0; border-radius: 0; }
      table.cards thead { display: none; }
      table.cards, table.cards tbody { display: block; }
      table.jobs { table-layout: auto; }
      table.cards tr {
        display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .35rem 1rem;
        border: 1px solid var(--line); border-radius: .6rem; margin: 0 0 .6rem; padding: .6rem .8rem;
      }
      table.cards tbody tr:last-child td { border-bottom: 0; }
      table.cards td { display: block; border: 0; padding: 0; min-width: 0; white-space: normal; }
      table.cards td.time { font-size: .875rem; overflow-wrap: normal; }
      table.cards td::before {
        content: attr(data-label); display: block; color: var(--muted); font-size: .7rem; font-weight: 600;
        text-transform: uppercase; letter-spacing: .05em;
      }
      table.cards td.lead { font-size: 1.05rem; align-self: center; }
      table.cards td.state { justify-self: end; align-self: center; }
      table.cards td.lead::before, table.cards td.state::before { display: none; }
      table.cards td.lead:last-child, table.cards td.full { grid-column: 1 / -1; }
      table.cards tr.row-failed td:first-child, table.cards tr.row-lost td:first-child, table.cards tr.row-timeout td:first-child,
      table.cards tr.row-running td:first-child, table.cards tr.row-unreachable td:first-child { box-shadow: none; }
      table.cards tr.row-failed, table.cards tr.row-lost, table.cards tr.row-timeout { border-left: 4px solid var(--bad); }
      table.cards tr.row-running, table.cards tr.row-unreachable { border-left: 4px solid var(--run); }
      .log { margin: 0 calc(-1 * clamp(.75rem, 3vw, 2rem)); border-radius: 0; border-left: 0; border-right: 0; font-size: 12px; }
    }

    """
}
