import Glibc

/// SIGINT, SIGTERM and SIGHUP noted instead of ending the process, for the time a command
/// has children of its own to end first (rsync and its ssh are in process groups of their
/// own, so a stop sent to ours does not reach them). The handler is installed without
/// SA_RESTART, so the signal also ends a waiting poll(2) at once.
public struct StopSignal {
    private var saved: [(Int32, sigaction)] = []

    public static var received: Bool { stopSignalReceived != 0 }

    public static func install() -> StopSignal {
        var s = StopSignal()
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in stopSignalReceived = signal }
            action.sa_flags = 0
            sigemptyset(&action.sa_mask)
            var old = sigaction()
            sigaction(sig, &action, &old)
            s.saved.append((sig, old))
        }
        return s
    }

    /// Puts the earlier handlers back; a stop that came meanwhile is sent again, so that it
    /// does what it would have done, unless `reraise` is false (the stop was the end).
    public func restore(reraise: Bool = true) {
        for (sig, old) in saved {
            var old = old
            sigaction(sig, &old, nil)
        }
        if reraise && stopSignalReceived != 0 {
            let sig = stopSignalReceived
            stopSignalReceived = 0
            raise(sig)
        }
    }
}

nonisolated(unsafe) private var stopSignalReceived: Int32 = 0
