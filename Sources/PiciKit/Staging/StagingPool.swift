/// pici-stage's pass with several histories fetched at once (`--jobs N`): most of a fetch is
/// waiting on zmx, so N `zmx history` calls run side by side in one `ChildPool`, while the
/// records still leave in input order.
///
/// Memory stays bounded: a history is held only while its call runs (at most N of them) and
/// is written to its files as soon as the call ends; a record waits only for the jobs before
/// it, which hold no history.
extension Staging {
    public typealias InputRecord = (line: Int, record: Record, bytes: [UInt8])

    /// Files held for one commit, at most (a bound on the temp files a kill leaves behind).
    static let batchSize = 512

    /// Stages every job of `records` and hands each record to `emit`, in input order; a job
    /// with an unsafe name is not handed on (as `stage` says).
    public mutating func stageAll(_ records: [InputRecord], jobs: Int, emit: ([UInt8]) throws -> Void) throws {
        let pool = ChildPool(limit: jobs)
        var works: [Int: Work] = [:]  // by record index, from begin to emit
        var launched: [Int: Int] = [:]  // fetches started, per record
        var outstanding: [Int: Int] = [:]  // fetches started and not yet stored
        var calls: [Int: (record: Int, fetch: Fetch, started: Int)] = [:]  // by pool tag
        var nextTag = 0
        var nextRecord = 0  // the next record to begin
        var current: Int? = nil  // the record whose fetches are being started
        var emitted = 0
        // The files are synced together (`SyncBatch`), and a record goes on only once its
        // job's files are committed: pici-publish acts on the whole stream, at its end.
        SyncBatch.begin()
        writeFollowedAhead(records, jobs: jobs)
        var ready: [[UInt8]] = []
        var closed = false
        func commit(closing: Bool) throws {
            closed = closing
            for failure in closing ? SyncBatch.end() : SyncBatch.commit() { writeFailed("\(failure)") }
            for bytes in ready { try emit(bytes) }
            ready.removeAll()
        }
        defer { if !closed { _ = SyncBatch.end() } }

        while true {
            // Fill the pool, in input order.
            while !pool.isFull {
                if let r = current, let work = works[r], launched[r, default: 0] < work.fetches.count {
                    let fetch = work.fetches[launched[r, default: 0]]
                    launched[r, default: 0] += 1
                    let started = Clock.nowNanoseconds() / 1_000_000_000
                    countFetch()
                    do {
                        let child = try zmx(on: fetch.session.host).start(Staging.historyArguments(fetch.session.name))
                        calls[nextTag] = (r, fetch, started)
                        pool.add(child, tag: nextTag)
                        nextTag += 1
                        outstanding[r, default: 0] += 1
                    } catch {
                        store(.failure(error), of: fetch, in: &works[r]!, fetchStarted: started)
                    }
                    continue
                }
                current = nil
                guard nextRecord < records.count else { break }
                let r = nextRecord
                nextRecord += 1
                if case .job(let job) = records[r].record {
                    // nil: not passed on; the record is dropped when its turn comes.
                    if let work = begin(job, line: records[r].line) {
                        works[r] = work
                        current = r
                    }
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
                    launched[r] = nil
                    outstanding[r] = nil
                }
                ready.append(records[r].bytes)
                emitted += 1
                if SyncBatch.count >= Staging.batchSize { try commit(closing: false) }
            }
            if pool.isEmpty && nextRecord == records.count && emitted == records.count {
                try commit(closing: true)
                return saveJobsAtRest()
            }

            for (tag, result) in pool.next() {
                guard let call = calls.removeValue(forKey: tag) else { continue }
                let zmx = zmx(on: call.fetch.session.host)
                let history = Result { try Staging.history(try zmx.checked(result, Staging.historyArguments(call.fetch.session.name), cutOK: true), of: call.fetch.session.name, zmx: zmx) }
                store(history, of: call.fetch, in: &works[call.record]!, fetchStarted: call.started)
                outstanding[call.record, default: 0] -= 1
            }
        }
    }
}
