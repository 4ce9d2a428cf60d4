import Glibc

/// Whether output may carry colour and cursor movement: only to a terminal, and never when
/// NO_COLOR is set (https://no-color.org).
public enum Terminal {
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Whether two descriptors are open on the same file (the same terminal, say).
    static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        var x = stat(), y = stat()
        return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    public static func colourAllowed(fd: Int32 = 1) -> Bool {
        isTerminal(fd) && (getenv("NO_COLOR").map { String(cString: $0).isEmpty } ?? true)
    }

    /// The width of the terminal `fd` is open on, in columns; 0 when it is none or does not
    /// say.
    public static func columns(_ fd: Int32) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 else { return 0 }
        return Int(size.ws_col)
    }

    public static let cursorUp = "\u{1B}[A"
    public static let clearToEndOfLine = "\u{1B}[K"
    public static let clearToEndOfScreen = "\u{1B}[J"

    public static func colour(_ text: String, _ code: String, enabled: Bool) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    /// The text with every control character (C0, DEL, C1) shown as `?`, so a name from a
    /// record can never move the cursor, retitle the window or clear the screen.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for u in text.unicodeScalars { out.append(isControl(u) ? "?" : u) }
        return String(out)
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value)
    }

    /// Go's `%-12s`: pads to a width counted in characters.
    public static func padRight(_ text: String, _ width: Int) -> String {
        let n = text.count
        return n >= width ? text : text + String(repeating: " ", count: width - n)
    }

    /// Ignore SIGPIPE so a closed stdout is an EPIPE we can handle, not a silent death.
    public static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }
}
