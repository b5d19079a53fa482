-- Pipelined pushes (PIPELINE per write, default 100): fills a queue far faster than one request per round trip.
-- wrk counts every response of the pipeline. No response() callback: it would cost a Lua call per response.
local pipeline = tonumber(os.getenv("PIPELINE") or "100")
local body = '{"item": {"data": "' .. string.rep("x", 50) .. '", "n": 1}, "priority": 0}'
local batch

init = function(args)
  batch = string.rep(wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body), pipeline)
end

request = function()
  return batch
end
