/// pici-stage's pass with several histories fetched at once (`--jobs N`): N `zmx history`
/// calls run side by side on a thread of their own (`BackgroundPool`), which starts the next
/// call as soon as one ends, while this thread writes the histories; the records still leave
/// in input order.
///
/// Memory stays bounded: at most 3N calls are queued, running, or ended and waiting, so at
/// most 3N histories are held; each is written to its files as soon as this thread takes it.
/// A record waits only for the jobs before it, which hold no history, and goes on once its
/// job's files are committed: what is ready is, before this thread waits for a call, and
/// every `commitInterval` while it need not.
extension Staging {
    public typealias InputRecord = (line: Int, record: Record, bytes: [UInt8])

    /// Files held for one commit, at most (a bound on the temp files a kill leaves behind).
    static let batchSize = 512

    /// While the pass runs, what is ready is committed and handed on before this thread would
    /// wait for a call, and else at most this often (ns, from the end of the last commit):
    /// soon enough that pici-publish works beside the fetches, seldom enough while histories
    /// keep coming that a disk's journal is committed a few times a pass, not once a job
    /// (`SyncBatch`).
    static let commitInterval = 20_000_000

    /// Stages every job of `records` and hands the records to `emit`, in input order, a
    /// commit's at a time (the caller flushes them then, for the next stage to go on); a job
    /// with an unsafe name is not handed on (as `stage` says).
    public mutating func stageAll(_ records: [InputRecord], jobs: Int, emit: ([[UInt8]]) throws -> Void) throws {
        // The calls run on a thread of their own: while this one writes a history, the next
        // call is already running.
        let pool = BackgroundPool(limit: jobs)
        defer { pool.stop() }
        var works: [Int: Work] = [:]  // by record index, from begin to emit
        var outstanding: [Int: Int] = [:]  // calls queued and not yet stored, per record
        var calls: [Int: (record: Int, fetch: Fetch)] = [:]  // by pool tag
        var nextTag = 0
        var queuedCalls = 0  // queued and not yet handed back
        var nextRecord = 0  // the next record to begin
        var current: Int? = nil  // the record whose calls are being queued
        var launched = 0  // how many of them are
        var emitted = 0
        // The files are synced together (`SyncBatch`), and a record goes on once its job's
        // files are committed: pici-publish writes a running job's pages as its record comes,
        // while the calls of the jobs after it still run.
        SyncBatch.begin()
        writeFollowedAhead(records, jobs: jobs)
        var ready: [[UInt8]] = []
        var closed = false
        var lastCommit = Clock.nowNanoseconds()
        func commit(closing: Bool) throws {
            closed = closing
            afterCommit(closing ? SyncBatch.end() : SyncBatch.commit())
            lastCommit = Clock.nowNanoseconds()
            if !ready.isEmpty { try emit(ready) }
            ready.removeAll()
        }
        defer { if !closed { _ = SyncBatch.end() } }

        while true {
            // Calls queued ahead, in input order, so that a slot never waits for this loop: N
            // to run, N more while this thread writes, N to start meanwhile.
            while queuedCalls < 3 * pool.limit {
                if let r = current, launched < works[r]!.fetches.count {
                    let fetch = works[r]!.fetches[launched]
                    launched += 1
                    countFetch()
                    let zmx = zmx(on: fetch.session.host)
                    let arguments = Staging.historyArguments(fetch.session.name)
                    calls[nextTag] = (r, fetch)
                    pool.submit(tag: nextTag) { try zmx.start(arguments) }
                    nextTag += 1
                    outstanding[r, default: 0] += 1
                    queuedCalls += 1
                    continue
                }
                current = nil
                guard nextRecord < records.count else { break }
                let r = nextRecord
                nextRecord += 1
                // nil: not passed on; the record is dropped when its turn comes.
                if case .job(let job) = records[r].record, let work = begin(job, line: records[r].line) {
                    works[r] = work
                    current = r
                    launched = 0
                }
            }

            // Hand on every record whose turn has come and whose job is done.
            while emitted < nextRecord && emitted != current {
                let r = emitted
                if case .job = records[r].record {
                    guard var work = works.removeValue(forKey: r) else {
                        emitted += 1  // an unsafe job, reported by begin
                        continue
                    }
                    if outstanding[r, default: 0] > 0 {
                        works[r] = work
                        break
                    }
                    finish(&work)
                    outstanding[r] = nil
                }
                ready.append(records[r].bytes)
                emitted += 1
                if SyncBatch.count >= Staging.batchSize { try commit(closing: false) }
            }
            if nextRecord == records.count && emitted == records.count {
                try commit(closing: true)
                return saveJobsAtRest()
            }
            // What is done goes on now, not at the pass's end.
            if !ready.isEmpty, !pool.hasEnded || Clock.nowNanoseconds() - lastCommit >= Staging.commitInterval {
                try commit(closing: false)
            }

            guard let ended = pool.next() else { continue }
            queuedCalls -= 1
            guard let call = calls.removeValue(forKey: ended.tag) else { continue }
            let zmx = zmx(on: call.fetch.session.host)
            let history = ended.result.flatMap { result in
                Result { try Staging.history(try zmx.checked(result, Staging.historyArguments(call.fetch.session.name), cutOK: true), of: call.fetch.session.name, zmx: zmx) }
            }
            store(history, of: call.fetch, in: &works[call.record]!, fetchStarted: ended.started)
            outstanding[call.record, default: 0] -= 1
        }
    }
}
