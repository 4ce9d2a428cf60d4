import Glibc

/// The palette of the last style sheet read: zmx writes the same `<style>` (256 colours) in
/// every history, and reading it was a twentieth of a pass's work. Locked, so any thread may
/// ask.
final class PaletteMemo: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var last: (styleSheet: String, palette: TerminalPalette)?

    init() { pthread_mutex_init(&mutex, nil) }

    /// The palette `ZmxHTML` reads from `styleSheet` (a `<style>` element).
    func palette(of styleSheet: String) -> TerminalPalette {
        pthread_mutex_lock(&mutex)
        let known = last.flatMap { $0.styleSheet == styleSheet ? $0.palette : nil }
        pthread_mutex_unlock(&mutex)
        if let known { return known }
        let palette = ZmxHTML(parsing: styleSheet).palette
        pthread_mutex_lock(&mutex)
        last = (styleSheet, palette)
        pthread_mutex_unlock(&mutex)
        return palette
    }
}
