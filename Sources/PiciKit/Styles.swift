/// The one stylesheet every page links as `styles.css` (no external assets, so a copied tree
/// works on any static host).
public enum Styles {
    public static let css = """
    :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --run: #9a6700; --muted: #6e7781; }
    body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem; }
    pre, code, .log { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
    .status-success { color: var(--ok); } .status-failed, .status-lost { color: var(--bad); }
    .status-running { color: var(--run); } .status-cancelled { color: var(--muted); }
    table { border-collapse: collapse; width: 100%; } td, th { padding: .25rem .5rem; text-align: left; }
    .log { overflow-x: auto; }

    """
}
