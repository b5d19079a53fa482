-- POST a small push (≈100 bytes, like the seed's small item) to the queue named in the URL path.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"item": {"data": "' .. string.rep("x", 50) .. '", "n": 1}, "priority": 0}'
