-- wrk script: GET the install file of every booted machine in turn, each with its own per-install token
-- (one URL path a line in $PXE_BENCH_URLS, written by run.sh after booting every machine once).
-- Each wrk thread starts at a different offset so the threads do not request the same machine in lock step.
-- wrk reports any non-2xx answers itself ("Non-2xx or 3xx responses"); run.sh fails the run on them.
local paths = {}
for line in io.lines(os.getenv("PXE_BENCH_URLS")) do
  paths[#paths + 1] = line
end

local threads = 0
local counter = 0

function setup(thread)
  thread:set("offset", threads * math.floor(#paths / 2))
  threads = threads + 1
end

function init(args)
  counter = offset or 0
end

function request()
  local path = paths[(counter % #paths) + 1]
  counter = counter + 1
  return wrk.format("GET", path)
end
