-- A filtered listing: two filters over 100 000 tasks, first page of 50.
local token = os.getenv("BENCH_TOKEN")
local project = os.getenv("BENCH_PROJECT") or "1"
request = function()
  return wrk.format("GET", "/api/v1/projects/" .. project .. "/tasks?status=todo&priority=high&sort=due_at",
    { ["Authorization"] = "Bearer " .. token })
end
