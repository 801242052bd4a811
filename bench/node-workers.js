// node-workers.js - bench/port_rt.c's three measures on Node's
// worker_threads (read them side by side); bench/workers.sh runs both.
//
//   messages/s  the main thread posts to a worker for SECONDS: a 64-byte
//               Uint8Array (copied: the structured clone), a 64 KiB one,
//               and a fresh 64 KiB ArrayBuffer in the transfer list (handed
//               over, detached here). The worker counts them and answers
//               every BATCH with an ack; the sender keeps at most WINDOW
//               batches unanswered (a bounded queue, as in C). The clock
//               runs from the first post to the last batch's ack.
//   round trip  64 bytes to a worker and echoed back, the next posted from
//               the 'message' handler: ROUNDS times after WARMUP; the median
//               and the 99th percentile of the single trips.
//   start       new Worker() of an empty script to its 'exit' event, STARTS
//               times one after the other: the median.
//
// Usage: node node-workers.js [SECONDS [STARTS]] (default 0.3 and 20), all
// three; prints one line, as port_rt does:
//   copy64_mps=M copy64k_mps=M move64k_mps=M rt_p50_us=L rt_p99_us=L
//   start_us=S
// or node node-workers.js rt, the round trip alone (rt_p50_us=L rt_p99_us=L).
'use strict';
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { performance } = require('perf_hooks');

const BATCH = 256, WINDOW = 2, WARMUP = 1000, ROUNDS = 10000, SMALL = 64, BIG = 64 << 10;

if (!isMainThread) {
	// The worker: count and ack, or echo.
	if (workerData === 'count') {
		let received = 0;
		parentPort.on('message', () => {
			if (++received % BATCH === 0) parentPort.postMessage(0);
		});
	} else {
		parentPort.on('message', (m) => parentPort.postMessage(m));
	}
	parentPort.postMessage('ready'); // its listener is on
} else {
	main();
}

const seconds = () => performance.now() / 1e3;

// A worker of this file, once it listens.
function spawn(kind) {
	const w = new Worker(__filename, { workerData: kind });
	w.on('error', (e) => { console.error(`node-workers: ${e.stack}`); process.exit(1); });
	return new Promise((resolve) => w.once('message', () => resolve(w)));
}

// Messages per second; make() gives each message, transfer hands it over.
async function flow(make, transfer, duration) {
	const w = await spawn('count');
	const [n, elapsed] = await new Promise((resolve) => {
		let sent = 0, acked = 0, stop = false;
		const t0 = seconds();
		const pump = () => {
			while (!stop && sent - acked < WINDOW) {
				for (let i = 0; i < BATCH; i++) {
					const m = make();
					if (transfer) w.postMessage(m, [m]);
					else w.postMessage(m);
				}
				sent++;
				stop = seconds() - t0 >= duration;
			}
		};
		w.on('message', () => {
			acked++;
			if (stop && acked === sent) resolve([sent * BATCH, seconds() - t0]);
			else pump();
		});
		pump();
	});
	await w.terminate();
	return n / elapsed;
}

async function roundTrips() {
	const w = await spawn('echo');
	const ping = new Uint8Array(SMALL);
	const trips = [];
	await new Promise((resolve) => {
		let t0 = seconds();
		w.on('message', () => {
			trips.push(seconds() - t0);
			if (trips.length === WARMUP + ROUNDS) return resolve();
			t0 = seconds();
			w.postMessage(ping);
		});
		w.postMessage(ping);
	});
	await w.terminate();
	const v = trips.slice(WARMUP).sort((a, b) => a - b);
	return [v[ROUNDS >> 1] * 1e6, v[Math.floor(ROUNDS * 99 / 100)] * 1e6];
}

async function startExit(starts) {
	const v = [];
	for (let i = 0; i < starts; i++) {
		const t0 = seconds();
		await new Promise((resolve) => new Worker('', { eval: true }).once('exit', resolve));
		v.push(seconds() - t0);
	}
	v.sort((a, b) => a - b);
	return v[starts >> 1] * 1e6;
}

async function main() {
	if (process.argv[2] === 'rt') {
		const [p50, p99] = await roundTrips();
		console.log(`rt_p50_us=${p50.toFixed(2)} rt_p99_us=${p99.toFixed(2)}`);
		return;
	}
	const duration = +(process.argv[2] || 0.3), starts = +(process.argv[3] || 20);
	const small = new Uint8Array(SMALL), big = new Uint8Array(BIG);
	await flow(() => small, false, duration / 4); // warm-up: the JIT
	const copy64 = await flow(() => small, false, duration);
	const copy64k = await flow(() => big, false, duration);
	const move64k = await flow(() => new ArrayBuffer(BIG), true, duration);
	const [p50, p99] = await roundTrips();
	const start = await startExit(starts);
	console.log(`copy64_mps=${copy64.toFixed(0)} copy64k_mps=${copy64k.toFixed(0)} ` +
		`move64k_mps=${move64k.toFixed(0)} rt_p50_us=${p50.toFixed(2)} ` +
		`rt_p99_us=${p99.toFixed(2)} start_us=${start.toFixed(1)}`);
}
