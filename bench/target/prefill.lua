-- wrk script that fills a queue fast: pipelined pushes of the same item as push.lua.
--   wrk -t1 ... -s prefill.lua http://HOST:PORT/queue/<id>/push [-- ITEMS [PIPELINE]]
-- Each request() returns PIPELINE pushes (argument, else $PIPELINE, else 100) concatenated into one write; wrk
-- counts every response. With ITEMS, the thread stops sending once ITEMS responses have arrived (with -t1 that is
-- the whole count); wrk itself still sleeps until -d is over, so run.sh watches the queue depth and ends wrk with
-- SIGINT as soon as it is reached. Pushes in flight at the stop still land: the queue can overshoot by up to
-- connections x PIPELINE. Without ITEMS it pushes for the whole -d (run.py uses it that way).

local body = '{"item": {"data": "' .. string.rep("x", 50) .. '", "n": 1}, "priority": 0}'
local batch
local wanted, seen = nil, 0

function init(args)
   wanted = tonumber(args[1])
   local pipeline = tonumber(args[2]) or tonumber(os.getenv("PIPELINE") or "") or 100
   batch = string.rep(wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body), pipeline)
end

function request()
   return batch
end

function response(status, headers, body)
   seen = seen + 1
   if wanted and seen >= wanted then
      wrk.thread:stop()
   end
end
