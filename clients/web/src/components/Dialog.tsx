import { useEffect, useId, useLayoutEffect, useRef, type ReactNode } from "react";

interface DialogProps {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
}

/**
 * A modal on the native <dialog> element: role="dialog", focus moved inside and trapped, Escape closes,
 * and focus returns to the opener, all by the platform. Named by its heading.
 */
export function Dialog({ title, open, onClose, children }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();

  // Layout effect: its cleanup runs before React removes the element, so close() still restores focus
  // to the opener when the parent unmounts the dialog.
  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      // Start at the first field rather than the Close button.
      d.querySelector<HTMLElement>("input, select, textarea")?.focus();
    }
    if (!open && d.open) d.close();
    return () => {
      if (d.open) d.close();
    };
  }, [open]);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const onCancel = (e: Event) => {
      e.preventDefault();
      onClose();
    };
    d.addEventListener("cancel", onCancel);
    return () => d.removeEventListener("cancel", onCancel);
  }, [onClose]);

  return (
    <dialog ref={ref} aria-labelledby={titleId} className="dialog">
      {open && (
        <>
          <div className="dialog-head">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="btn btn-ghost btn-icon" aria-label="Close" onClick={onClose}>
              ✕
            </button>
          </div>
          {children}
        </>
      )}
    </dialog>
  );
}
