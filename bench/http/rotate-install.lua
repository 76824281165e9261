-- wrk script: GET /boot/{mac}/install rotating over the imported machines 52:54:00:00:00:00 .. (count-1).
-- Each wrk thread starts at a different offset so the threads do not request the same MAC in lock step.
-- wrk reports any non-2xx answers itself ("Non-2xx or 3xx responses"); run.sh fails the run on them.
local count = tonumber(os.getenv("PXE_BENCH_MACHINES") or "10000")
local threads = 0
local counter = 0

function setup(thread)
  thread:set("offset", threads * math.floor(count / 2))
  threads = threads + 1
end

function init(args)
  counter = offset or 0
end

function request()
  local i = counter % count
  counter = counter + 1
  local path = string.format("/boot/52:54:00:%02x:%02x:%02x/install",
    math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format("GET", path)
end
