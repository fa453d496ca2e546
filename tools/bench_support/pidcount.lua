-- wrk: count responses per worker process, from the X-Pid header of the bench apps.
-- Each wrk thread has its own Lua state: `served` is global so done() can fetch it.
served = {}
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function response(status, headers, body)
   local pid = headers["X-Pid"] or headers["x-pid"] or "unknown"
   served[pid] = (served[pid] or 0) + 1
end

function done(summary, latency, requests)
   for _, thread in ipairs(threads) do
      for pid, count in pairs(thread:get("served")) do
         io.write(string.format("bench-served-by %s %d\n", pid, count))
      end
   end
end
