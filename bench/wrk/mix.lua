-- Pupils at work (G9, `make scaleout`): every wrk thread is one pupil on one connection, in
-- their own workspace as in G7: autosaves that carry the version they were last told (so every
-- compare-and-set save succeeds and writes), and every BENCH_MIX_PAGE_EVERY-th request a reload
-- of the workspace page. Counts who answered (X-Instance) and what, so the balancer's spread
-- and the real mix are part of the result. Run with -t N -c N and BENCH_MIX_DATA naming a Lua
-- file that returns { {page=..., save=..., cookie=..., csrf=..., version=..., body_text=...}, ... }.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "report.lua")

local data = dofile(os.getenv("BENCH_MIX_DATA"))
local page_every = tonumber(os.getenv("BENCH_MIX_PAGE_EVERY") or "7")

function setup_thread(thread, n)
  local mine = data[((n - 1) % #data) + 1]
  for _, key in ipairs({ "page", "save", "cookie", "csrf", "version", "body_text" }) do
    thread:set(key, mine[key])
  end
  -- Threads reach their page views at different moments, as pupils would.
  thread:set("sent", n % page_every)
end

local report_init = init
function init(args)
  report_init(args)
  served, statuses, pages, saves = {}, {}, 0, 0
end

function request()
  sent = sent + 1
  if sent % page_every == 0 then
    kind = "page"
    return wrk.format("GET", page, { ["Cookie"] = cookie })
  end
  kind = "save"
  local headers = {
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = csrf,
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", save, headers, "text=" .. body_text .. "&version=" .. version)
end

function on_response(status, headers, body)
  local who = headers["X-Instance"] or headers["x-instance"] or "?"
  served[who] = (served[who] or 0) + 1
  statuses[status] = (statuses[status] or 0) + 1
  if kind == "page" then
    pages = pages + 1
  else
    saves = saves + 1
    -- 200 {"version": n, ...}; 409 {"error": "conflict", ..., "version": n}: take the server's.
    local v = body:match('"version"%s*:%s*(%d+)')
    if v then version = tonumber(v) end
  end
end

local report_done = done
function done(summary, latency, requests)
  report_done(summary, latency, requests)
  local all, codes, total_pages, total_saves = {}, {}, 0, 0
  for _, thread in ipairs(threads) do
    for who, count in pairs(thread:get("served") or {}) do
      all[who] = (all[who] or 0) + count
    end
    for code, count in pairs(thread:get("statuses") or {}) do
      codes[code] = (codes[code] or 0) + count
    end
    total_pages = total_pages + (thread:get("pages") or 0)
    total_saves = total_saves + (thread:get("saves") or 0)
  end
  local function object(counts)
    local parts = {}
    for key, count in pairs(counts) do
      table.insert(parts, string.format('"%s": %d', key, count))
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  io.write(string.format('BENCH_MIX {"pages": %d, "saves": %d, "served": %s, "statuses": %s}\n',
    total_pages, total_saves, object(all), object(codes)))
end
