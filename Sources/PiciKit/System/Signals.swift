import Glibc

/// Holding off the signals an ordinary stop sends, so that it cannot fall between the steps
/// of a commit; a signal that arrives meanwhile is delivered when they are restored.
enum Signals {
    static func blockStops() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        var old = sigset_t()
        sigprocmask(SIG_BLOCK, &set, &old)
        return old
    }

    static func restore(_ old: sigset_t) {
        var old = old
        sigprocmask(SIG_SETMASK, &old, nil)
    }
}
