/// The look every page shares: the one stylesheet each links as `styles.css` (no external
/// assets, so a copied tree works on any static host) and the icon, word and colour class
/// that show a status at a glance even without colour.
public enum Styles {
    /// The seed's icons (⏳ while running, as its index.txt), plus ones for the two statuses
    /// the seed did not have.
    public static func icon(_ status: String) -> String {
        switch status {
        case "success": return "✅"
        case "failed": return "❌"
        case "running": return "⏳"
        case "cancelled": return "🚫"
        case "lost": return "❓"
        case "unreachable": return "⚠"
        default: return "•"
        }
    }

    /// The CSS class for a status; only known words, so a record cannot inject a class name.
    public static func statusClass(_ status: String) -> String {
        switch status {
        case "success", "failed", "running", "cancelled", "lost", "unreachable": return "status-" + status
        default: return "status-unknown"
        }
    }

    /// A status as a pill: icon and word together, coloured by class.
    public static func badge(_ status: String) -> String {
        "<span class=\"badge \(statusClass(status))\">\(icon(status)) \(HTML.escape(status))</span>"
    }

    public static let css = """
    :root {
      color-scheme: light dark;
      --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --panel: #f6f8fa; --link: #0969da;
      --ok: #1a7f37; --ok-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9;
      --run: #9a6700; --run-bg: #fff8c5; --off: #59636e; --off-bg: #eff2f5;
    }
    @media (prefers-color-scheme: dark) {
      :root {
        --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --panel: #151b23; --link: #4493f8;
        --ok: #3fb950; --ok-bg: #12261e; --bad: #f85149; --bad-bg: #301517;
        --run: #d29922; --run-bg: #2e2412; --off: #9198a1; --off-bg: #212830;
      }
    }
    * { box-sizing: border-box; }
    html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
    body {
      margin: 0 auto; max-width: 72rem; padding: 1rem clamp(.75rem, 3vw, 2rem) 3rem;
      background: var(--bg); color: var(--fg);
      font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
    }
    a { color: var(--link); text-decoration: none; }
    a:hover, a:focus-visible { text-decoration: underline; }
    h1 { font-size: 1.45rem; line-height: 1.3; margin: .4rem 0 .6rem; display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .7rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.1rem; margin: 2rem 0 .6rem; display: flex; flex-wrap: wrap; align-items: baseline; gap: .3rem .8rem; overflow-wrap: anywhere; }
    h2 .count { color: var(--muted); font-size: .85rem; font-weight: normal; }
    code, pre, kbd, .mono, .log { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace; font-size: .92em; }
    .crumbs, .summary, body > nav { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
    .crumbs a, body > nav a { color: inherit; }
    .summary { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .6rem; margin: 0; }
    .facts { display: flex; flex-wrap: wrap; gap: .6rem 2rem; margin: .8rem 0 0; padding: 0; }
    .facts div { min-width: 7rem; }
    .facts dt { color: var(--muted); font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; }
    .facts dd { margin: 0; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
    .badge {
      display: inline-flex; align-items: center; gap: .35em; padding: .08em .65em; border-radius: 999px;
      border: 1px solid var(--c, var(--off)); background: var(--c-bg, var(--off-bg)); color: var(--c, var(--off));
      font-size: .88rem; font-weight: 600; line-height: 1.6; white-space: nowrap; vertical-align: middle;
    }
    h1 .badge { font-size: .95rem; }
    .status-success { --c: var(--ok); --c-bg: var(--ok-bg); color: var(--c); }
    .status-failed, .status-lost { --c: var(--bad); --c-bg: var(--bad-bg); color: var(--c); }
    .status-running, .status-unreachable { --c: var(--run); --c-bg: var(--run-bg); color: var(--c); }
    .status-cancelled, .status-unknown { --c: var(--off); --c-bg: var(--off-bg); color: var(--c); }
    .table-wrap { overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; }
    th, td { padding: .45rem .65rem; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
    th { color: var(--muted); font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; white-space: nowrap; }
    td { overflow-wrap: anywhere; }
    td.num, td.time { font-variant-numeric: tabular-nums; white-space: nowrap; }
    tbody tr:hover { background: var(--panel); }
    tr.row-failed td:first-child, tr.row-lost td:first-child { box-shadow: inset 3px 0 var(--bad); }
    tr.row-running td:first-child { box-shadow: inset 3px 0 var(--run); }
    .links a + a { margin-left: .7rem; }
    table.session { width: auto; min-width: min(100%, 28rem); }
    table.session th { text-transform: none; letter-spacing: 0; font-size: .85rem; padding-right: 1.5rem; }
    .empty { color: var(--muted); font-style: italic; }
    .log { overflow-x: auto; background: var(--panel); border: 1px solid var(--line); border-radius: .5rem; padding: .75rem 1rem; }
    footer { margin-top: 2.5rem; padding-top: .75rem; border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem; }
    footer a { margin-right: 1rem; }
    @media (max-width: 40rem) {
      body { font-size: 16px; }
      table.cards thead { display: none; }
      table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
      table.cards tr { border: 1px solid var(--line); border-radius: .6rem; margin: 0 0 .75rem; padding: .35rem .75rem; }
      table.cards td { display: flex; justify-content: space-between; gap: 1rem; border: 0; padding: .25rem 0; text-align: right; }
      table.cards td::before { content: attr(data-label); color: var(--muted); font-size: .75rem; text-transform: uppercase; letter-spacing: .05em; text-align: left; }
      table.cards td.lead { font-weight: 600; }
      table.cards tr.row-failed td:first-child, table.cards tr.row-lost td:first-child, table.cards tr.row-running td:first-child { box-shadow: none; }
      table.cards tr.row-failed, table.cards tr.row-lost { border-left: 4px solid var(--bad); }
      table.cards tr.row-running { border-left: 4px solid var(--run); }
    }

    """
}
