-- POST a pop; the depth is in the URL's query string.
wrk.method = "POST"
