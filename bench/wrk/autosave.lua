-- Autosave (E2): every wrk thread owns one connection and one draft answer of its own pupil,
-- and sends the version it was last told, as the workspace does, so every compare-and-set
-- save succeeds. Run with -t N -c N and BENCH_E2_DATA naming a Lua file that returns
-- { {path=..., cookie=..., csrf=..., version=..., body_text=...}, ... } (body_text urlencoded).
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "report.lua")

local data = dofile(os.getenv("BENCH_E2_DATA"))

function setup_thread(thread, n)
  local mine = data[((n - 1) % #data) + 1]
  thread:set("path", mine.path)
  thread:set("cookie", mine.cookie)
  thread:set("csrf", mine.csrf)
  thread:set("version", mine.version)
  thread:set("body_text", mine.body_text)
end

function request()
  local headers = {
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = csrf,
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", path, headers, "text=" .. body_text .. "&version=" .. version)
end

function on_response(status, headers, body)
  -- 200 {"version": n, ...}; 409 {"error": "conflict", ..., "version": n}: take the server's.
  local v = body:match('"version"%s*:%s*(%d+)')
  if v then version = tonumber(v) end
end
