import { Link } from "../app/router";

export function NotFound() {
  return (
    <div className="page narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <p>
        <Link to="/" className="btn">
          Go home
        </Link>
      </p>
    </div>
  );
}
