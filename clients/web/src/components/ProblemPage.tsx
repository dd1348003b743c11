import { Link } from "../app/router";

/** A full-page problem (an invite or a room that cannot be opened): what went wrong and a way home. */
export function ProblemPage({ title, message }: { title: string; message: string }) {
  return (
    <div className="page narrow">
      <h1>{title}</h1>
      <p role="alert" className="alert">
        {message}
      </p>
      <p>
        <Link to="/" className="btn">
          Go home
        </Link>
      </p>
    </div>
  );
}
