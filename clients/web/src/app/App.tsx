import { useEffect } from "react";
import { parseRoute, signInPath } from "../lib/routes";
import { Home } from "../screens/Home";
import { Join } from "../screens/Join";
import { NotFound } from "../screens/NotFound";
import { Room } from "../screens/Room";
import { SignIn } from "../screens/SignIn";
import { useHearth } from "./hearth";
import { navigate, useLocationKey } from "./router";
import { Shell } from "./Shell";

/** Routing and the sign-in gate: signed-out visitors of any route sign in first and come back to it. */
export function App() {
  useLocationKey();
  const { session, client } = useHearth();
  const { pathname, search } = window.location;
  const route = parseRoute(pathname, search);

  useEffect(() => {
    if (!session && route.name !== "signin") navigate(signInPath(pathname + search), { replace: true });
    if (session && route.name === "signin") navigate(route.next, { replace: true });
  }, [session, route, pathname, search]);

  if (!session) {
    const next = route.name === "signin" ? route.next : pathname + search;
    return <SignIn next={next} />;
  }
  if (!client || route.name === "signin") return <Shell>{null}</Shell>;

  let screen;
  switch (route.name) {
    case "home":
      screen = <Home />;
      break;
    case "room":
      screen = <Room key={route.roomId} roomId={route.roomId} />;
      break;
    case "join":
      screen = <Join key={route.code} code={route.code} />;
      break;
    case "notFound":
      screen = <NotFound />;
      break;
  }
  return <Shell key={session.userId}>{screen}</Shell>;
}
