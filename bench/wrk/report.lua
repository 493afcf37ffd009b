-- Shared by every wrk script here: count answers that are not what the endpoint should give
-- (a 302 to the log-in page is not a success), and print one machine-readable summary line.
-- Each thread keeps its own counters; done() collects them through the thread objects.

threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
  if setup_thread then setup_thread(thread, #threads) end
end

function init(args)
  unexpected = 0
end

expected_status = tonumber(os.getenv("BENCH_EXPECT") or "200")

function response(status, headers, body)
  if status ~= expected_status then
    unexpected = unexpected + 1
  end
  if on_response then on_response(status, headers, body) end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "unexpected": %d, "status_errors": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, bad, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
